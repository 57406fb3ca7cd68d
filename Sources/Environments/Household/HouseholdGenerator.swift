import Foundation
import Support

/// The six ALFWorld task types (ALFRED's, without slicing and movable receptacles, as ALFWorld's text games).
public enum HouseholdTask: String, CaseIterable, Sendable {
    case pickAndPlaceSimple = "pick_and_place_simple"
    case lookAtObjInLight = "look_at_obj_in_light"
    case pickCleanThenPlace = "pick_clean_then_place_in_recep"
    case pickHeatThenPlace = "pick_heat_then_place_in_recep"
    case pickCoolThenPlace = "pick_cool_then_place_in_recep"
    case pickTwoObjAndPlace = "pick_two_obj_and_place"
}

/// One generated game: the PDDL problem, the task sentence and the ALFRED parameters (what `traj_data.json`
/// holds). `gameFile(domain:grammar:)` packs it as ALFWorld's `game.tw-pddl`.
public struct HouseholdGame: Sendable {
    public var task: HouseholdTask
    public var scene: String
    public var sentence: String
    public var objectTarget: String
    public var parentTarget: String
    public var toggleTarget: String
    public var problem: String
    public var seed: UInt64
    public var sharedLocations = false

    /// `game.tw-pddl`: the domain and grammar texts (ALFWorld's `alfred.pddl` / `alfred.twl2`, which gtr does not
    /// ship) with the task sentence substituted into the grammar.
    public func gameFile(domain: String, grammar: String) -> String {
        JSONValue.object([
            ("pddl_domain", .string(domain)),
            ("grammar", .string(grammar.replacingOccurrences(of: "UNKNOWN GOAL", with: sentence))),
            ("pddl_problem", .string(problem)),
            ("solvable", .bool(true)),
        ]).serialized()
    }

    public var trajData: String {
        JSONValue.object([
            ("task_type", .string(task.rawValue)),
            ("pddl_params", .object([
                ("object_target", .string(objectTarget)), ("parent_target", .string(parentTarget)),
                ("toggle_target", .string(toggleTarget)), ("mrecep_target", .string("")), ("object_sliced", .bool(false)),
            ])),
            ("scene", .object([("scene_kind", .string(scene)), ("random_seed", .number(Double(seed)))])),
            ("turk_annotations", .object([("anns", .array([.object([("task_desc", .string(sentence))])]))])),
        ]).serialized()
    }

    /// The in-memory world (no files, no ALFWorld installation needed).
    public func world() throws -> HouseholdWorld { try HouseholdWorld(problem: try PDDLProblem.parse(problem), task: sentence) }
}

public enum HouseholdGeneratorError: Error, CustomStringConvertible {
    case noLayout(String)
    public var description: String { switch self { case let .noLayout(m): return m } }
}

/// Seeded rooms of the four ALFRED scene kinds with receptacles and objects of the right types (which objects are
/// cleanable, heatable, coolable, sliceable, which receptacles can contain what: ALFRED's tables, restricted to
/// the types gtr uses). Every receptacle has its own location (ALFWorld's shared locations are not generated);
/// the agent starts at a location with no receptacle.
public enum HouseholdGenerator {
    /// Receptacle type → object types it can contain.
    static let canContain: [String: Set<String>] = {
        let table: [String: String] = [
        "Cabinet": "Mug Cup Bowl Plate Pan Pot Ladle Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle Newspaper Book Vase CD SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox Plunger",
        "CounterTop": "Apple Bread Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot Knife ButterKnife Fork Spoon Spatula Ladle Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock BaseballBat TennisRacket SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "Drawer": "Knife ButterKnife Fork Spoon Spatula Ladle DishSponge SaltShaker PepperShaker SoapBottle RemoteControl KeyChain CreditCard Newspaper Book Watch CD CellPhone Pen Pencil SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "Fridge": "Apple Bread Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot WineBottle",
        "Microwave": "Apple Bread Egg Potato Tomato Mug Cup Bowl Plate",
        "SinkBasin": "Apple Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot Knife ButterKnife Fork Spoon Spatula Ladle Kettle DishSponge SoapBar Cloth HandTowel",
        "StoveBurner": "Pan Pot Kettle",
        "CoffeeMachine": "Mug",
        "Toaster": "",
        "GarbageCan": "Apple Bread Egg Lettuce Potato Tomato DishSponge SoapBottle WineBottle Newspaper CD Pen Pencil SoapBar Cloth SprayBottle ToiletPaper HandTowel TissueBox",
        "DiningTable": "Apple Bread Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot Knife ButterKnife Fork Spoon Spatula Ladle Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock BaseballBat TennisRacket SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "Shelf": "Mug Cup Bowl Plate Pot Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "Sofa": "RemoteControl KeyChain CreditCard Pillow Newspaper Book CellPhone Cloth",
        "ArmChair": "RemoteControl KeyChain CreditCard Pillow Newspaper Book CellPhone Cloth",
        "CoffeeTable": "Apple Bread Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot Knife ButterKnife Fork Spoon Spatula Ladle Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock BaseballBat TennisRacket SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "SideTable": "Apple Bread Egg Lettuce Potato Tomato Mug Cup Bowl Plate Pan Pot Knife ButterKnife Fork Spoon Spatula Ladle Kettle DishSponge SaltShaker PepperShaker SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock BaseballBat TennisRacket SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "Dresser": "Mug Cup Bowl Plate WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock TennisRacket Cloth Candle SprayBottle ToiletPaper TissueBox",
        "Bed": "Pillow Newspaper Book CellPhone BaseballBat TennisRacket",
        "Desk": "Mug Cup Bowl Plate SoapBottle WineBottle RemoteControl KeyChain CreditCard Newspaper Book Statue Vase Watch CD CellPhone Pen Pencil AlarmClock TennisRacket Cloth Candle SprayBottle ToiletPaper TissueBox",
        "Safe": "KeyChain CreditCard Statue Vase Watch CD CellPhone",
        "Toilet": "DishSponge SoapBottle Newspaper SoapBar Cloth Candle SprayBottle ToiletPaper HandTowel TissueBox",
        "HandTowelHolder": "HandTowel",
        "TowelHolder": "Towel",
        "ToiletPaperHanger": "ToiletPaper",
        "BathtubBasin": "DishSponge SoapBar Cloth HandTowel"
        ]
        return table.mapValues { Set($0.split(separator: " ").map(String.init)) }
    }()
    static let heatable: Set<String> = ["Apple", "Bread", "Cup", "Egg", "Mug", "Plate", "Potato", "Tomato"]
    static let coolable: Set<String> = ["Apple", "Bowl", "Bread", "Cup", "Egg", "Lettuce", "Mug", "Pan", "Plate", "Pot", "Potato", "Tomato", "WineBottle"]
    static let cleanable: Set<String> = ["Apple", "Bowl", "ButterKnife", "Cloth", "Cup", "DishSponge", "Egg", "Fork", "Kettle", "Knife", "Ladle",
                                         "Lettuce", "Mug", "Pan", "Plate", "Pot", "Potato", "SoapBar", "Spatula", "Spoon", "Tomato"]
    static let sliceable: Set<String> = ["Apple", "Bread", "Egg", "Lettuce", "Potato", "Tomato"]
    static let receptacleObjects: Set<String> = ["Bowl", "Cup", "Mug", "Plate", "Pan", "Pot"]
    static let openable: Set<String> = ["Fridge", "Cabinet", "Microwave", "Drawer", "Safe"]

    struct Scene {
        var name: String
        /// (receptacle type, min count, max count)
        var receptacles: [(String, Int, Int)]
        var objects: [String]
    }

    static let scenes: [Scene] = [
        Scene(name: "kitchen", receptacles: [("Cabinet", 3, 8), ("CounterTop", 1, 3), ("Drawer", 2, 6), ("Fridge", 1, 1), ("Microwave", 1, 1),
                                             ("SinkBasin", 1, 1), ("StoveBurner", 2, 4), ("CoffeeMachine", 1, 1), ("Toaster", 1, 1),
                                             ("GarbageCan", 1, 1), ("DiningTable", 0, 1), ("Shelf", 0, 2)],
              objects: ["Apple", "Bread", "Egg", "Lettuce", "Potato", "Tomato", "Mug", "Cup", "Bowl", "Plate", "Pan", "Pot", "Knife", "ButterKnife",
                        "Fork", "Spoon", "Spatula", "Ladle", "Kettle", "DishSponge", "SaltShaker", "PepperShaker", "SoapBottle", "WineBottle"]),
        Scene(name: "livingroom", receptacles: [("Sofa", 1, 1), ("ArmChair", 0, 2), ("CoffeeTable", 1, 1), ("SideTable", 1, 2), ("Shelf", 1, 4),
                                                ("Drawer", 1, 4), ("Dresser", 0, 1), ("Cabinet", 0, 3), ("GarbageCan", 1, 1), ("Safe", 0, 1)],
              objects: ["RemoteControl", "KeyChain", "CreditCard", "Pillow", "Newspaper", "Book", "Statue", "Vase", "Watch", "CellPhone", "Plate", "Bowl"]),
        Scene(name: "bedroom", receptacles: [("Bed", 1, 1), ("Desk", 1, 1), ("Dresser", 0, 1), ("SideTable", 1, 2), ("Drawer", 2, 5),
                                             ("Shelf", 1, 3), ("GarbageCan", 1, 1), ("Safe", 0, 1), ("ArmChair", 0, 1)],
              objects: ["Pillow", "Book", "CD", "CellPhone", "CreditCard", "KeyChain", "Pen", "Pencil", "AlarmClock", "BaseballBat", "TennisRacket",
                        "Mug", "Bowl", "Watch"]),
        Scene(name: "bathroom", receptacles: [("Toilet", 1, 1), ("SinkBasin", 1, 2), ("BathtubBasin", 0, 1), ("CounterTop", 1, 1), ("Cabinet", 2, 4),
                                              ("Drawer", 0, 2), ("GarbageCan", 1, 1), ("HandTowelHolder", 1, 1), ("TowelHolder", 0, 1),
                                              ("ToiletPaperHanger", 1, 1), ("Shelf", 0, 2)],
              objects: ["SoapBar", "SoapBottle", "Cloth", "Candle", "SprayBottle", "ToiletPaper", "Towel", "HandTowel", "DishSponge", "TissueBox"]),
    ]

    /// Scenes that can hold a task of this type.
    static func sceneNames(for task: HouseholdTask) -> [String] {
        switch task {
        case .pickHeatThenPlace, .pickCoolThenPlace: return ["kitchen"]
        case .pickCleanThenPlace: return ["kitchen", "bathroom"]
        case .lookAtObjInLight: return ["livingroom", "bedroom"]
        case .pickAndPlaceSimple, .pickTwoObjAndPlace: return ["kitchen", "livingroom", "bedroom", "bathroom"]
        }
    }

    static func coordinate(_ rng: inout SeededRNG) -> String {
        func c() -> String { String(format: "%+06.2f", Double(rng.int(in: -400...400)) / 100) }
        return "\(c())|\(c())|\(c())"
    }

    static func instanceID(_ type: String, _ rng: inout SeededRNG) -> String {
        switch type {
        case "SinkBasin": return "Sink|\(coordinate(&rng))|SinkBasin"
        case "BathtubBasin": return "Bathtub|\(coordinate(&rng))|BathtubBasin"
        default: return "\(type)|\(coordinate(&rng))"
        }
    }

    /// ALFRED's id mangling for PDDL names.
    static func mangle(_ id: String) -> String {
        id.replacingOccurrences(of: "|", with: "_bar_").replacingOccurrences(of: "-", with: "_minus_")
            .replacingOccurrences(of: "+", with: "_plus_").replacingOccurrences(of: ".", with: "_dot_")
    }

    /// - Parameter sharedLocations: as ALFRED's real scenes, cabinets, drawers and shelves of one kind stand in
    ///   pairs at one location ("You are facing the drawer 2, and drawer 1.").
    public static func generate(task requested: HouseholdTask? = nil, seed: UInt64, sharedLocations: Bool = false) throws -> HouseholdGame {
        var rng = SeededRNG(seed: seed &* 0x9E37_79B9 &+ 17)
        let task = requested ?? rng.pick(HouseholdTask.allCases)
        for _ in 0..<200 {
            if let g = attempt(task: task, seed: seed, shared: sharedLocations, rng: &rng) { return g }
        }
        throw HouseholdGeneratorError.noLayout("no layout found for \(task.rawValue) with seed \(seed)")
    }

    static func attempt(task: HouseholdTask, seed: UInt64, shared: Bool, rng: inout SeededRNG) -> HouseholdGame? {
        let sceneName = rng.pick(sceneNames(for: task))
        let scene = scenes.first { $0.name == sceneName }!
        // Receptacles.
        var recs: [(id: String, type: String)] = []
        for (t, lo, hi) in scene.receptacles {
            for _ in 0..<rng.int(in: lo...hi) { recs.append((instanceID(t, &rng), t)) }
        }
        if task == .lookAtObjInLight && !recs.contains(where: { ["Desk", "SideTable", "Dresser"].contains($0.type) }) { return nil }
        let recTypes = Set(recs.map(\.type))
        func holders(_ o: String) -> [(id: String, type: String)] { recs.filter { canContain[$0.type]?.contains(o) ?? false } }
        // Target object and parent receptacle.
        var pool = scene.objects.filter { !holders($0).isEmpty }
        switch task {
        case .pickHeatThenPlace: pool = pool.filter { heatable.contains($0) }
        case .pickCoolThenPlace: pool = pool.filter { coolable.contains($0) }
        case .pickCleanThenPlace: pool = pool.filter { cleanable.contains($0) }
        default: break
        }
        guard !pool.isEmpty else { return nil }
        let target = rng.pick(pool)
        var toggle = ""
        var parent = ""
        if task == .lookAtObjInLight {
            toggle = rng.pick(["DeskLamp", "FloorLamp"])
        } else {
            let excluded: Set<String> = task == .pickHeatThenPlace ? ["Microwave"] : task == .pickCoolThenPlace ? ["Fridge"]
                : task == .pickCleanThenPlace ? ["SinkBasin", "BathtubBasin"] : []
            let parents = recTypes.filter { canContain[$0]?.contains(target) ?? false }.subtracting(excluded).sorted()
            guard !parents.isEmpty else { return nil }
            parent = rng.pick(parents)
        }
        // Where the target may start: anywhere it fits except a receptacle of the parent type.
        let starts = holders(target).filter { $0.type != parent }
        guard !starts.isEmpty else { return nil }
        var objs: [(id: String, type: String, rec: String)] = []
        let targetCount = task == .pickTwoObjAndPlace ? rng.int(in: 2...3) : rng.int(in: 1...3)
        for _ in 0..<targetCount { objs.append((instanceID(target, &rng), target, rng.pick(starts).id)) }
        // Distractors.
        let others = scene.objects.filter { $0 != target && !holders($0).isEmpty }
        var chosen = Set<String>()
        for _ in 0..<rng.int(in: min(4, others.count)...min(10, others.count)) { chosen.insert(rng.pick(others)) }
        for t in chosen.sorted() {
            for _ in 0..<rng.int(in: 1...3) { objs.append((instanceID(t, &rng), t, rng.pick(holders(t)).id)) }
        }
        if task == .lookAtObjInLight {
            let lampPlaces = recs.filter { ["Desk", "SideTable", "Dresser"].contains($0.type) }
            objs.append((instanceID(toggle, &rng), toggle, rng.pick(lampPlaces).id))
        }
        // Ids must be unique (coordinates are random).
        guard Set(objs.map(\.id) + recs.map(\.id)).count == objs.count + recs.count else { return nil }

        // The PDDL problem, in the order Fast Downward requires.
        var loc: [String: String] = [:]
        var previous: (type: String, loc: String, paired: Bool)?
        for (k, r) in recs.enumerated() {
            if shared, let p = previous, p.type == r.type, !p.paired, ["Cabinet", "Drawer", "Shelf"].contains(r.type) {
                loc[r.id] = p.loc; previous = (r.type, p.loc, true)
            } else {
                let l = "loc_bar_\(k + 1)_bar_0_bar_0_bar_30"
                loc[r.id] = l; previous = (r.type, l, false)
            }
        }
        let locations = Array(Set(loc.values)).sorted()
        let start = "loc_bar_0_bar_0_bar_0_bar_30"
        let objectTypes = Set(objs.map(\.type)).union(["Knife", "ButterKnife"]).sorted()
        let receptacleTypes = recTypes.union(["SinkBasin", "Microwave", "Fridge"]).sorted()
        var p = ["(define (problem gtr_\(task.rawValue)_\(seed))", "(:domain alfred)", "(:objects", "agent1 - agent", "\(start) - location"]
        p += locations.map { "\($0) - location" }
        p += recs.map { "\(mangle($0.id)) - receptacle" }
        p += objs.map { "\(mangle($0.id)) - object" }
        p += objectTypes.map { "\($0)Type - otype" } + receptacleTypes.map { "\($0)Type - rtype" }
        p += [")", "(:init", "(= (total-cost) 0)", "(atLocation agent1 \(start))"]
        for r in recs {
            p.append("(receptacleType \(mangle(r.id)) \(r.type)Type)")
            p.append("(receptacleAtLocation \(mangle(r.id)) \(loc[r.id]!))")
            if openable.contains(r.type) { p.append("(openable \(mangle(r.id)))") }
        }
        for o in objs {
            let m = mangle(o.id)
            p += ["(objectType \(m) \(o.type)Type)", "(inReceptacle \(m) \(mangle(o.rec)))", "(objectAtLocation \(m) \(loc[o.rec]!))"]
            if o.type.hasSuffix("Lamp") { p.append("(toggleable \(m))"); continue }
            p.append("(pickupable \(m))")
            if receptacleObjects.contains(o.type) { p.append("(isReceptacleObject \(m))") }
            if cleanable.contains(o.type) { p.append("(cleanable \(m))") }
            if heatable.contains(o.type) { p.append("(heatable \(m))") }
            if coolable.contains(o.type) { p.append("(coolable \(m))") }
            if sliceable.contains(o.type) { p.append("(sliceable \(m))") }
        }
        for rt in recTypes.sorted() {
            for ot in objectTypes where canContain[rt]?.contains(ot) ?? false { p.append("(canContain \(rt)Type \(ot)Type)") }
        }
        p.append(")")
        p.append(goal(task, target: target, parent: parent, toggle: toggle))
        p += ["(:metric minimize (total-cost))", ")"]
        let sentence: String
        let (o, r, tg) = (target.lowercased(), parent.lowercased(), toggle.lowercased())
        switch task {
        case .pickAndPlaceSimple: sentence = rng.pick(["put a \(o) in \(r)", "put some \(o) on \(r)"])
        case .pickCleanThenPlace: sentence = rng.pick(["put a clean \(o) in \(r)", "clean some \(o) and put it in \(r)"])
        case .pickHeatThenPlace: sentence = rng.pick(["put a hot \(o) in \(r)", "heat some \(o) and put it in \(r)"])
        case .pickCoolThenPlace: sentence = rng.pick(["put a cool \(o) in \(r)", "cool some \(o) and put it in \(r)"])
        case .pickTwoObjAndPlace: sentence = rng.pick(["put two \(o) in \(r)", "find two \(o) and put them in \(r)"])
        case .lookAtObjInLight: sentence = rng.pick(["look at \(o) under the \(tg)", "examine the \(o) with the \(tg)"])
        }
        return HouseholdGame(task: task, scene: sceneName, sentence: sentence, objectTarget: target, parentTarget: parent,
                             toggleTarget: toggle, problem: p.joined(separator: "\n"), seed: seed, sharedLocations: shared)
    }

    /// The goal formulas of ALFWorld's goal library for each task type.
    static func goal(_ task: HouseholdTask, target o: String, parent r: String, toggle t: String) -> String {
        func place(_ extra: String) -> String {
            "(:goal (and (exists (?r - receptacle) (exists (?o - object) (and \(extra)(objectType ?o \(o)Type) (receptacleType ?r \(r)Type) (inReceptacle ?o ?r))))))"
        }
        switch task {
        case .pickAndPlaceSimple: return place("")
        case .pickCleanThenPlace: return place("(cleanable ?o) (isClean ?o) ")
        case .pickHeatThenPlace: return place("(heatable ?o) (isHot ?o) ")
        case .pickCoolThenPlace: return place("(coolable ?o) (isCool ?o) ")
        case .pickTwoObjAndPlace:
            return "(:goal (and (exists (?r - receptacle) (exists (?o1 - object) (and (objectType ?o1 \(o)Type) (receptacleType ?r \(r)Type) "
                + "(inReceptacle ?o1 ?r) (exists (?o2 - object) (and (not (= ?o1 ?o2)) (objectType ?o2 \(o)Type) (receptacleType ?r \(r)Type) "
                + "(inReceptacle ?o2 ?r))))))))"
        case .lookAtObjInLight:
            return "(:goal (and (exists (?ot - object ?r - receptacle ?a - agent ?l - location) (and (objectType ?ot \(t)Type) (toggleable ?ot) "
                + "(isToggled ?ot) (receptacleAtLocation ?r ?l) (atLocation ?a ?l) (inReceptacle ?ot ?r))) "
                + "(exists (?o - object ?a - agent) (and (objectType ?o \(o)Type) (holds ?a ?o)))))"
        }
    }
}
