/// What a household goal asks for, read from the goal formula (works for ALFWorld's files and ours).
public struct HouseholdGoal: Sendable, Equatable {
    public var task: HouseholdTask
    /// PDDL type names, lower-cased as in the problem ("appletype").
    public var objectType: String
    public var parentType: String?
    public var toggleType: String?

    public static func from(_ goal: SExpr) -> HouseholdGoal? {
        var atoms: [[String]] = []
        func walk(_ e: SExpr) {
            let a = e.items.compactMap(\.atom)
            if !e.items.isEmpty, a.count == e.items.count { atoms.append(a) }
            e.items.forEach(walk)
        }
        walk(goal)
        let preds = Set(atoms.map { $0[0] })
        let objectTypes = atoms.filter { $0[0] == "objecttype" && $0.count == 3 }
        let toggle = objectTypes.first { $0[1] == "?ot" }?[2]
        guard let object = objectTypes.first(where: { $0[1] != "?ot" })?[2] else { return nil }
        let parent = atoms.first { $0[0] == "receptacletype" && $0.count == 3 }?[2]
        let task: HouseholdTask
        if preds.contains("istoggled") { task = .lookAtObjInLight }
        else if preds.contains("isclean") { task = .pickCleanThenPlace }
        else if preds.contains("ishot") { task = .pickHeatThenPlace }
        else if preds.contains("iscool") { task = .pickCoolThenPlace }
        else if preds.contains("=") { task = .pickTwoObjAndPlace }
        else { task = .pickAndPlaceSimple }
        return HouseholdGoal(task: task, objectType: object, parentType: parent, toggleType: toggle)
    }
}

/// A privileged expert for household games: it reads the true state and plans the task directly (take a target
/// instance, use the appliance, place it; or take it to the lamp). Near-optimal in steps, not guaranteed optimal:
/// it takes the closest instance by a fixed order (one already at the agent's receptacle, else the first by
/// name) instead of searching over all instances. It replans from any state, so it is also the oracle's source
/// for "what should happen next".
public enum HouseholdExpert {
    /// The whole remaining plan from the current state (the world is left as it was). Empty when won, or when
    /// the goal cannot be read.
    public static func plan(_ w: HouseholdWorld, maxSteps: Int = 60) -> [String] {
        guard let g = HouseholdGoal.from(w.problem.goal) else { return [] }
        let saved = w.state
        defer { w.state = saved }
        var out: [String] = []
        func run(_ c: String) -> Bool {
            guard w.admissibleCommands.contains(c) else { return false }
            w.execute(c); out.append(c); return true
        }
        func goTo(_ r: String) -> Bool {
            if w.recLocation[r] == w.state.agentLocation { return true }
            return run("go to \(w.name(r))")
        }
        func openIfNeeded(_ r: String) -> Bool {
            w.openable.contains(r) && !w.state.opened.contains(r) ? run("open \(w.name(r))") : true
        }
        func conditionMet(_ o: String) -> Bool {
            switch g.task {
            case .pickCleanThenPlace: return w.state.clean.contains(o)
            case .pickHeatThenPlace: return w.state.hot.contains(o)
            case .pickCoolThenPlace: return w.state.cool.contains(o)
            default: return true
            }
        }
        func placed(_ o: String) -> Bool {
            guard let r = w.state.inReceptacle[o], let pt = g.parentType else { return false }
            return w.recType[r] == pt && conditionMet(o)
        }
        let targets = w.objects.filter { w.objType[$0] == g.objectType }
        var guardSteps = 0
        while !w.won, guardSteps < maxSteps {
            guardSteps += 1
            if let h = w.state.holding {
                if w.objType[h] != g.objectType {
                    // Put down whatever else is held, here if possible.
                    let here = w.here.filter { r in (!w.openable.contains(r) || w.state.opened.contains(r)) && w.canContain.contains([w.recType[r] ?? "", w.objType[h] ?? ""]) }
                    if let r = here.first { if !run("move \(w.name(h)) to \(w.name(r))") { break }; continue }
                    guard let r = w.receptacles.first(where: { w.canContain.contains([w.recType[$0] ?? "", w.objType[h] ?? ""]) }),
                          goTo(r), openIfNeeded(r), run("move \(w.name(h)) to \(w.name(r))") else { break }
                    continue
                }
                if g.task == .lookAtObjInLight {
                    guard let lamp = w.objects.first(where: { w.objType[$0] == g.toggleType }), let lr = w.state.inReceptacle[lamp],
                          goTo(lr), run("use \(w.name(lamp))") else { break }
                    continue
                }
                if !conditionMet(h) {
                    let applianceType = g.task == .pickCleanThenPlace ? "sinkbasintype" : g.task == .pickHeatThenPlace ? "microwavetype" : "fridgetype"
                    let verb = g.task == .pickCleanThenPlace ? "clean" : g.task == .pickHeatThenPlace ? "heat" : "cool"
                    guard let a = w.receptacles.first(where: { w.recType[$0] == applianceType }),
                          goTo(a), run("\(verb) \(w.name(h)) with \(w.name(a))") else { break }
                    continue
                }
                // Place it: for two objects, in the receptacle that already holds one.
                let parents = w.receptacles.filter { w.recType[$0] == g.parentType }
                let withOne = parents.first { r in targets.contains { w.state.inReceptacle[$0] == r && conditionMet($0) } }
                let here = parents.first { w.recLocation[$0] == w.state.agentLocation }
                guard let r = withOne ?? here ?? parents.first, goTo(r), openIfNeeded(r), run("move \(w.name(h)) to \(w.name(r))") else { break }
                continue
            }
            // Fetch a target instance that is not yet where it belongs.
            let candidates = targets.filter { !placed($0) && w.state.inReceptacle[$0] != nil }
            let near = candidates.first { w.state.inReceptacle[$0].map { w.recLocation[$0] == w.state.agentLocation } ?? false }
            guard let o = near ?? candidates.first, let r = w.state.inReceptacle[o],
                  goTo(r), openIfNeeded(r), run("take \(w.name(o)) from \(w.name(r))") else { break }
        }
        return w.won ? out : out
    }

    /// The next command, or nil when there is none (won, or no plan).
    public static func next(_ w: HouseholdWorld) -> String? { plan(w).first }
}
