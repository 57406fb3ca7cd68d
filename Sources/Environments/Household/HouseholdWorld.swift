// Longer than ~400 lines on purpose: every action of alfred.pddl sits next to the exact ALFWorld text it renders,
// so a change to a rule and its feedback is one reviewable diff (the conformance test pins both).
import Foundation
import Support

/// The ALFRED household domain (`alfred.pddl`) implemented natively, with the text of ALFWorld's grammar
/// (`alfred.twl2`) as the real TextWorld engine renders it: admissible commands are the rendered templates of the
/// applicable operators, sorted; anything else is "Nothing happens.". Names follow ALFWorld's demangler ("apple 1":
/// instances of a name are numbered in descending order of their sorted PDDL ids).
public final class HouseholdWorld {
    /// The dynamic part of a game: what actions change. Hashable, so the expert can search over it.
    public struct State: Hashable, Sendable {
        public var agentLocation: String
        public var opened: Set<String>
        /// object → receptacle it is in (absent: held, or on the floor of a location).
        public var inReceptacle: [String: String]
        /// object → location (absent while held).
        public var objectLocation: [String: String]
        public var holding: String?
        public var clean: Set<String> = []
        public var hot: Set<String> = []
        public var cool: Set<String> = []
        public var on: Set<String> = []
        public var toggled: Set<String> = []
        public var sliced: Set<String> = []
        /// TextWorld keeps a deleted fact as an explicit `not_` fact: (object, receptacle) pairs whose
        /// `inReceptacle` a `take` removed and no `move` restored. `look` lists such objects ("Next to it, you see").
        public var notIn: Set<[String]> = []
    }

    public let task: String
    public let problem: PDDLProblem
    /// Sorted PDDL ids.
    public let receptacles: [String]
    public let objects: [String]
    /// id → display name ("cabinet 3").
    public let names: [String: String]
    let idByName: [String: String]
    let recLocation: [String: String]
    let recType: [String: String]
    let objType: [String: String]
    let openable: Set<String>
    let canContain: Set<[String]>
    let props: [String: Set<String>]   // static unary predicates (pickupable, heatable, …) → ids
    let typed: [String: [String]]       // PDDL type → names
    var other: Set<[String]>            // facts with predicates the engine does not model (kept for goals)
    public private(set) var initial: State
    /// The current state; any change invalidates the cached operators and goal test.
    public var state: State { didSet { version &+= 1 } }
    /// Receptacles by location (static), sorted.
    let receptaclesAt: [String: [String]]
    private var version = 0
    private var cachedOperators: (version: Int, ops: [(String, () -> String)])?
    private var cachedWon: (version: Int, won: Bool)?

    public init(problem: PDDLProblem, task: String) throws {
        self.problem = problem
        self.task = task
        var typed: [String: [String]] = [:]
        for (n, t) in problem.objects { typed[t, default: []].append(n) }
        self.typed = typed
        receptacles = (typed["receptacle"] ?? []).sorted()
        objects = (typed["object"] ?? []).sorted()
        names = HouseholdWorld.demangle(problem.objects.map(\.name))
        var idByName: [String: String] = [:]
        for id in receptacles + objects { if let n = names[id] { idByName[n] = id } }
        self.idByName = idByName
        var recLocation: [String: String] = [:], recType: [String: String] = [:], objType: [String: String] = [:]
        var openable = Set<String>(), canContain = Set<[String]>(), props: [String: Set<String>] = [:], other = Set<[String]>()
        var agent: String?, opened = Set<String>(), inRec: [String: String] = [:], objLoc: [String: String] = [:], holding: String?
        var s = State(agentLocation: "", opened: [], inReceptacle: [:], objectLocation: [:], holding: nil)
        for f in problem.initial {
            let a = Array(f.dropFirst())
            switch (f[0], a.count) {
            case ("atlocation", 2): agent = a[1]
            case ("receptacleatlocation", 2): recLocation[a[0]] = a[1]
            case ("objectatlocation", 2): objLoc[a[0]] = a[1]
            case ("openable", 1): openable.insert(a[0])
            case ("opened", 1): opened.insert(a[0])
            case ("inreceptacle", 2): inRec[a[0]] = a[1]
            case ("receptacletype", 2): recType[a[0]] = a[1]
            case ("objecttype", 2): objType[a[0]] = a[1]
            case ("cancontain", 2): canContain.insert(a)
            case ("holds", 2): holding = a[1]
            case ("holdsany", 1): break
            case ("isclean", 1): s.clean.insert(a[0])
            case ("ishot", 1): s.hot.insert(a[0])
            case ("iscool", 1): s.cool.insert(a[0])
            case ("ison", 1): s.on.insert(a[0])
            case ("istoggled", 1): s.toggled.insert(a[0])
            case ("issliced", 1): s.sliced.insert(a[0])
            case (let p, 1) where ["pickupable", "cleanable", "heatable", "coolable", "toggleable", "sliceable", "isreceptacleobject", "moveable"].contains(p):
                props[p, default: []].insert(a[0])
            default: other.insert(f)
            }
        }
        guard let agent else { throw PDDLError("no (atLocation agent LOCATION) in :init") }
        s.agentLocation = agent; s.opened = opened; s.inReceptacle = inRec; s.objectLocation = objLoc; s.holding = holding
        self.recLocation = recLocation; self.recType = recType; self.objType = objType; self.openable = openable
        self.canContain = canContain; self.props = props; self.other = other
        var at: [String: [String]] = [:]
        for r in receptacles { if let l = recLocation[r] { at[l, default: []].append(r) } }
        receptaclesAt = at
        initial = s
        state = s
    }

    /// A copy that shares the static game and owns its state (undo, side-by-side play, the expert's lookahead).
    public init(copying o: HouseholdWorld) {
        task = o.task; problem = o.problem; receptacles = o.receptacles; objects = o.objects; names = o.names; idByName = o.idByName
        recLocation = o.recLocation; recType = o.recType; objType = o.objType; openable = o.openable; canContain = o.canContain
        props = o.props; typed = o.typed; other = o.other; initial = o.initial; state = o.state; receptaclesAt = o.receptaclesAt
    }

    /// Loads a `game.tw-pddl` (JSON with `pddl_problem` and the `grammar` that holds the task sentence).
    public convenience init(gameFile url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw PDDLError("cannot read \(url.path): \(error.localizedDescription)") }
        let v: JSONValue
        do { v = try JSONParser.parse(String(decoding: data, as: UTF8.self)) } catch { throw PDDLError("\(url.lastPathComponent) is not JSON: \(error)") }
        guard let problem = v["pddl_problem"]?.stringValue else { throw PDDLError("\(url.lastPathComponent) has no pddl_problem") }
        let grammar = v["grammar"]?.stringValue ?? ""
        try self.init(problem: try PDDLProblem.parse(problem), task: HouseholdWorld.taskSentence(grammar: grammar))
    }

    /// The task sentence substituted into the grammar ("put a hot apple in countertop").
    public static func taskSentence(grammar: String) -> String {
        guard let r = grammar.range(of: "Your task is to: ") else { return "UNKNOWN GOAL" }
        var s = String(grammar[r.upperBound...].prefix { $0 != "\"" })
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// ALFWorld's demangler: the display name is the text before the first `|` (after `_bar_` → `|`), "basin" is
    /// appended for sink basins, and the instances of a name are numbered from the count down in sorted-id order.
    static func demangle(_ ids: [String]) -> [String: String] {
        let sorted = ids.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var count: [String: Int] = [:]
        func base(_ id: String) -> String? {
            guard let r = id.range(of: "_bar_") else { return nil }
            return String(id[..<r.lowerBound]) + (id.contains("basin") ? "basin" : "")
        }
        for id in sorted { if let b = base(id) { count[b, default: 0] += 1 } }
        var out: [String: String] = [:]
        for id in sorted {
            guard let b = base(id) else { out[id] = id + " "; continue }
            out[id] = "\(b) \(count[b]!)"
            count[b]! -= 1
        }
        return out
    }

    public func reset() { state = initial }

    // MARK: facts and the goal

    func has(_ p: String, _ id: String) -> Bool { props[p]?.contains(id) ?? false }

    /// Truth of a ground atom in the current state.
    public func holds(_ f: [String]) -> Bool {
        let a = Array(f.dropFirst())
        let s = state
        switch (f.first ?? "", a.count) {
        case ("atlocation", 2): return s.agentLocation == a[1]
        case ("receptacleatlocation", 2): return recLocation[a[0]] == a[1]
        case ("objectatlocation", 2): return s.objectLocation[a[0]] == a[1]
        case ("openable", 1): return openable.contains(a[0])
        case ("opened", 1): return s.opened.contains(a[0])
        case ("inreceptacle", 2): return s.inReceptacle[a[0]] == a[1]
        case ("receptacletype", 2): return recType[a[0]] == a[1]
        case ("objecttype", 2): return objType[a[0]] == a[1]
        case ("cancontain", 2): return canContain.contains(a)
        case ("holds", 2): return s.holding == a[1]
        case ("holdsany", 1): return s.holding != nil
        case ("isclean", 1): return s.clean.contains(a[0])
        case ("ishot", 1): return s.hot.contains(a[0])
        case ("iscool", 1): return s.cool.contains(a[0])
        case ("ison", 1): return s.on.contains(a[0])
        case ("istoggled", 1): return s.toggled.contains(a[0])
        case ("issliced", 1): return s.sliced.contains(a[0])
        case (let p, 1) where props[p] != nil: return has(p, a[0])
        default: return other.contains(f)
        }
    }

    /// Evaluates a PDDL formula (and, or, not, imply, exists, forall, atoms) with `bindings` for its variables.
    public func evaluate(_ e: SExpr, _ bindings: [String: String] = [:]) -> Bool {
        let items = e.items
        switch e.head {
        case "and": return items.dropFirst().allSatisfy { evaluate($0, bindings) }
        case "or": return items.dropFirst().contains { evaluate($0, bindings) }
        case "not": return items.count == 2 && !evaluate(items[1], bindings)
        case "=": // (= ?a ?b)
            guard items.count == 3, let x = items[1].atom, let y = items[2].atom else { return false }
            return (bindings[x] ?? x) == (bindings[y] ?? y)
        case "imply": return items.count == 3 && (!evaluate(items[1], bindings) || evaluate(items[2], bindings))
        case "exists", "forall":
            guard items.count == 3 else { return false }
            var vars: [(String, String)] = [], pending: [String] = []
            var it = items[1].items.compactMap(\.atom)[...]
            while let a = it.popFirst() {
                if a == "-", let t = it.popFirst() { vars += pending.map { ($0, t) }; pending = [] } else { pending.append(a) }
            }
            vars += pending.map { ($0, "object") }
            let exists = e.head == "exists"
            func go(_ k: Int, _ b: [String: String]) -> Bool {
                if k == vars.count { return evaluate(items[2], b) }
                for v in typed[vars[k].1] ?? [] {
                    var b2 = b; b2[vars[k].0] = v
                    let r = go(k + 1, b2)
                    if exists && r { return true }
                    if !exists && !r { return false }
                }
                return !exists
            }
            return go(0, bindings)
        default:
            let atoms = items.compactMap(\.atom)
            guard atoms.count == items.count, !atoms.isEmpty else { return false }
            return holds(atoms.enumerated().map { $0.offset == 0 ? $0.element : (bindings[$0.element] ?? $0.element) })
        }
    }

    /// The goal, compiled once: variables become slots, so testing it allocates nothing per binding.
    indirect enum Formula {
        case and([Formula]), or([Formula]), not(Formula)
        case equal(Term, Term)
        case quantified(exists: Bool, slots: [(Int, [String])], body: Formula)
        case atom(String, [Term])
        case unary(String, Term)
        case binary(String, Term, Term)
        case constant(Bool)
    }
    enum Term { case slot(Int), name(String) }

    lazy var compiledGoal: Formula = {
        var slots: [String: Int] = [:]
        func term(_ a: String) -> Term { slots[a].map { .slot($0) } ?? .name(a) }
        func compile(_ e: SExpr) -> Formula {
            let items = e.items
            switch e.head {
            case "and": return .and(items.dropFirst().map(compile))
            case "or": return .or(items.dropFirst().map(compile))
            case "not": return items.count == 2 ? .not(compile(items[1])) : .constant(false)
            case "imply": return items.count == 3 ? .or([.not(compile(items[1])), compile(items[2])]) : .constant(false)
            case "=":
                guard items.count == 3, let x = items[1].atom, let y = items[2].atom else { return .constant(false) }
                return .equal(term(x), term(y))
            case "exists", "forall":
                guard items.count == 3 else { return .constant(false) }
                var vars: [(String, String)] = [], pending: [String] = []
                var it = items[1].items.compactMap(\.atom)[...]
                while let a = it.popFirst() {
                    if a == "-", let t = it.popFirst() { vars += pending.map { ($0, t) }; pending = [] } else { pending.append(a) }
                }
                vars += pending.map { ($0, "object") }
                let saved = slots
                let bound = vars.map { v -> (Int, [String]) in let k = slots.count; slots[v.0] = k; return (k, typed[v.1] ?? []) }
                let body = compile(items[2])
                slots = saved
                return .quantified(exists: e.head == "exists", slots: bound, body: body)
            default:
                let atoms = items.compactMap(\.atom)
                guard atoms.count == items.count, let p = atoms.first else { return .constant(false) }
                if atoms.count == 2 { return .unary(p, term(atoms[1])) }
                if atoms.count == 3 { return .binary(p, term(atoms[1]), term(atoms[2])) }
                return .atom(p, atoms.dropFirst().map(term))
            }
        }
        return compile(problem.goal)
    }()

    func test(_ f: Formula, _ b: inout [String]) -> Bool {
        switch f {
        case let .and(fs): for x in fs where !test(x, &b) { return false }; return true
        case let .or(fs): for x in fs where test(x, &b) { return true }; return false
        case let .not(x): return !test(x, &b)
        case let .constant(v): return v
        case let .equal(x, y): return value(x, b) == value(y, b)
        case let .quantified(exists, slots, body):
            func go(_ k: Int) -> Bool {
                if k == slots.count { return test(body, &b) }
                let (slot, domain) = slots[k]
                while b.count <= slot { b.append("") }
                for v in domain {
                    b[slot] = v
                    let r = go(k + 1)
                    if exists && r { return true }
                    if !exists && !r { return false }
                }
                return !exists
            }
            return go(0)
        case let .atom(p, terms): return holds(p, terms.map { value($0, b) })
        case let .unary(p, x): return holds1(p, value(x, b))
        case let .binary(p, x, y): return holds2(p, value(x, b), value(y, b))
        }
    }

    /// Unary facts without building an atom array (the goal test's inner loop).
    func holds1(_ p: String, _ a: String) -> Bool {
        switch p {
        case "openable": return openable.contains(a)
        case "opened": return state.opened.contains(a)
        case "holdsany": return state.holding != nil
        case "isclean": return state.clean.contains(a)
        case "ishot": return state.hot.contains(a)
        case "iscool": return state.cool.contains(a)
        case "ison": return state.on.contains(a)
        case "istoggled": return state.toggled.contains(a)
        case "issliced": return state.sliced.contains(a)
        default: return props[p] != nil ? has(p, a) : other.contains([p, a])
        }
    }

    func holds2(_ p: String, _ a: String, _ b: String) -> Bool {
        switch p {
        case "atlocation": return state.agentLocation == b
        case "receptacleatlocation": return recLocation[a] == b
        case "objectatlocation": return state.objectLocation[a] == b
        case "inreceptacle": return state.inReceptacle[a] == b
        case "receptacletype": return recType[a] == b
        case "objecttype": return objType[a] == b
        case "cancontain": return canContain.contains([a, b])
        case "holds": return state.holding == b
        default: return other.contains([p, a, b])
        }
    }

    @inline(__always) func value(_ t: Term, _ b: [String]) -> String {
        switch t { case let .slot(k): return k < b.count ? b[k] : ""; case let .name(n): return n }
    }

    /// Truth of predicate `p` over `a` (the arguments, without the predicate).
    func holds(_ p: String, _ a: [String]) -> Bool { holds([p] + a) }

    public var won: Bool {
        if let c = cachedWon, c.version == version { return c.won }
        var slots: [String] = []
        let w = test(compiledGoal, &slots)
        cachedWon = (version, w)
        return w
    }

    // MARK: text

    public func name(_ id: String) -> String { names[id] ?? id }

    /// "nothing", "a x", "a x, and a y", "a x, a y, and a z" (the grammar's list separators).
    public static func list(_ items: [String], article: Bool = true) -> String {
        let w = article ? items.map { "a " + $0 } : items
        switch w.count {
        case 0: return "nothing"
        case 1: return w[0]
        default: return w.dropLast().joined(separator: ", ") + ", and " + w.last!
        }
    }

    func contents(_ r: String) -> [String] { objects.filter { state.inReceptacle[$0] == r }.map(name) }

    /// The sorted admissible commands, computed once per state.
    private var cachedAdmissible: (version: Int, list: [String])?

    func examineReceptacle(_ r: String) -> String {
        if openable.contains(r) {
            return state.opened.contains(r) ? "The \(name(r)) is open. In it, you see \(HouseholdWorld.list(contents(r)))." : "The \(name(r)) is closed."
        }
        return "On the \(name(r)), you see \(HouseholdWorld.list(contents(r)))."
    }

    func examineObject(_ o: String) -> String {
        let n = name(o), s = state
        let (c, h, k, sl) = (s.clean.contains(o), s.hot.contains(o), s.cool.contains(o), s.sliced.contains(o))
        if has("isreceptacleobject", o) {
            let inside = other.filter { $0.count == 3 && $0[0] == "inreceptacleobject" && $0[2] == o }.map { name($0[1]) }.sorted()
            return "This is a normal \(n). In it, you see \(HouseholdWorld.list(inside))."
        }
        if c && h && sl { return "This is a hot and clean sliced \(n)." }
        if c && k && sl { return "This is a cool and clean sliced \(n)." }
        if c && sl { return "This is a clean sliced \(n)." }
        if h && sl { return "This is a hot sliced \(n)." }
        if k && sl { return "This is a cool sliced \(n)." }
        if c && h { return "This is a hot and clean \(n)." }
        if c && k { return "This is a cool and clean \(n)." }
        if h { return "This is a hot \(n)." }
        if c { return "This is a clean \(n)." }
        if k { return "This is a cold \(n)." }
        if has("toggleable", o) { return s.toggled.contains(o) ? "This \(n) is on." : "This \(n) is off." }
        if has("sliceable", o) && sl { return "This is a sliced \(n)." }
        return "There's nothing special about \(n)."
    }

    public var here: [String] { receptaclesAt[state.agentLocation] ?? [] }

    /// What `look` answers during play.
    public func look() -> String {
        let rs = here
        guard !rs.isEmpty else { return "You are in the middle of a room. Looking quickly around you, you see nothing." }
        // The grammar's query `objectatlocation(o, l) & receptacleatlocation(r, l) & not_inreceptacle(o, r)` matches
        // only explicit `not_` facts, i.e. objects taken from a receptacle here and put back into another one here.
        var floor: [String] = []
        for o in objects where state.objectLocation[o] == state.agentLocation {
            if rs.contains(where: { state.notIn.contains([o, $0]) }) { floor.append(name(o)) }
        }
        return "You are facing the \(HouseholdWorld.list(rs.map(name), article: false)). Next to it, you see \(HouseholdWorld.list(floor))."
    }

    /// The text at reset: welcome, the room (every receptacle), the task.
    public var intro: String {
        let room: String
        if here.isEmpty {
            let all = receptacles.filter { recLocation[$0] != nil }.map(name)
            room = "You are in the middle of a room. Looking quickly around you, you see \(HouseholdWorld.list(all))."
        } else {
            room = look()
        }
        return "-= Welcome to TextWorld, ALFRED! =-\n\n" + room + "\n\n" + "Your task is to: \(task)."
    }

    static let helpText = """
        Available commands:
          look:                             look around your current location
          inventory:                        check your current inventory
          go to (receptacle):               move to a receptacle
          open (receptacle):                open a receptacle
          close (receptacle):               close a receptacle
          take (object) from (receptacle):  take an object from a receptacle
          move (object) to (receptacle):  place an object in or on a receptacle
          examine (something):              examine a receptacle or an object
          use (object):                     use an object
          heat (object) with (receptacle):  heat an object using a receptacle
          clean (object) with (receptacle): clean an object using a receptacle
          cool (object) with (receptacle):  cool an object using a receptacle
          slice (object) with (object):     slice an object using a sharp object

        """

    // MARK: actions

    /// Every applicable operator as (command, effect and feedback). The first operator rendering a command wins.
    func operators() -> [(String, () -> String)] {
        if let c = cachedOperators, c.version == version { return c.ops }
        let ops = buildOperators()
        cachedOperators = (version, ops)
        return ops
    }

    func buildOperators() -> [(String, () -> String)] {
        var ops: [(String, () -> String)] = []
        let s = state
        let rs = here
        // Objects by receptacle, in sorted-id order.
        var inside: [String: [String]] = [:]
        for o in objects { if let r = s.inReceptacle[o] { inside[r, default: []].append(o) } }
        ops.append(("help", { HouseholdWorld.helpText }))
        ops.append(("inventory", { [self] in
            state.holding.map { "You are carrying: \(HouseholdWorld.list([name($0)]))." } ?? "You are not carrying anything."
        }))
        ops.append(("look", { [self] in look() }))
        // go to: one command per receptacle somewhere else (receptacles sharing the agent's location are not
        // offered, as the real engine drops the no-op move).
        for r in receptacles {
            guard let l = recLocation[r], l != s.agentLocation else { continue }
            ops.append(("go to \(name(r))", { [self] in
                state.agentLocation = l
                return "You arrive at \(name(r)). " + examineReceptacle(r)
            }))
        }
        for r in rs {
            ops.append(("examine \(name(r))", { [self] in examineReceptacle(r) }))
            if openable.contains(r) {
                if s.opened.contains(r) {
                    ops.append(("close \(name(r))", { [self] in state.opened.remove(r); return "You close the \(name(r))." }))
                } else {
                    ops.append(("open \(name(r))", { [self] in state.opened.insert(r); return "You open the \(name(r)). " + examineReceptacle(r) }))
                }
            }
            let accessible = !openable.contains(r) || s.opened.contains(r)
            if accessible, s.holding == nil {
                for o in inside[r] ?? [] where has("pickupable", o) {
                    ops.append(("take \(name(o)) from \(name(r))", { [self] in
                        state.inReceptacle[o] = nil; state.objectLocation[o] = nil; state.holding = o
                        state.notIn.insert([o, r])
                        return "You pick up the \(name(o)) from the \(name(r))."
                    }))
                }
            }
            if let h = s.holding {
                if accessible, let rt = recType[r], let ot = objType[h], canContain.contains([rt, ot]) {
                    ops.append(("move \(name(h)) to \(name(r))", { [self] in
                        state.inReceptacle[h] = r; state.objectLocation[h] = state.agentLocation; state.holding = nil
                        state.notIn.remove([h, r])
                        return "You move the \(name(h)) to the \(name(r))."
                    }))
                }
                if recType[r] == "sinkbasintype", has("cleanable", h) {
                    ops.append(("clean \(name(h)) with \(name(r))", { [self] in state.clean.insert(h); return "You clean the \(name(h)) using the \(name(r))." }))
                }
                if recType[r] == "microwavetype", has("heatable", h) {
                    ops.append(("heat \(name(h)) with \(name(r))", { [self] in
                        state.hot.insert(h); state.cool.remove(h); return "You heat the \(name(h)) using the \(name(r))."
                    }))
                }
                if recType[r] == "fridgetype", has("coolable", h) {
                    ops.append(("cool \(name(h)) with \(name(r))", { [self] in
                        state.cool.insert(h); state.hot.remove(h); return "You cool the \(name(h)) using the \(name(r))."
                    }))
                }
            }
            for o in inside[r] ?? [] where has("toggleable", o) {
                ops.append(("use \(name(o))", { [self] in
                    if state.on.contains(o) { state.on.remove(o) } else { state.on.insert(o) }
                    state.toggled.insert(o)
                    return "You turn on the \(name(o))."
                }))
            }
        }
        if let h = s.holding {
            ops.append(("examine \(name(h))", { [self] in examineObject(h) }))
            if ["knifetype", "butterknifetype"].contains(objType[h] ?? "") {
                for co in objects where has("sliceable", co) && s.objectLocation[co] == s.agentLocation {
                    ops.append(("slice \(name(co)) with \(name(h))", { [self] in state.sliced.insert(co); return "You sliced the \(name(co)) with the \(name(h))." }))
                }
            }
        }
        return ops
    }

    /// The admissible commands, sorted as the real engine lists them.
    public var admissibleCommands: [String] {
        if let c = cachedAdmissible, c.version == version { return c.list }
        let list = Array(Set(operators().map(\.0))).sorted()
        cachedAdmissible = (version, list)
        return list
    }

    /// Executes a command; anything not admissible changes nothing and answers "Nothing happens.".
    @discardableResult
    public func execute(_ command: String) -> (feedback: String, admissible: Bool) {
        guard let op = operators().first(where: { $0.0 == command }) else { return ("Nothing happens.", false) }
        return (op.1(), true)
    }
}
