import Support

/// The exact solver offered to chat correctors as the tool `find_all_correct_formulas` (GTR §5.2: Points24 while
/// the target formula is NOT DETERMINED; `CorrectorQuestions.offersTool` says when).
public enum SolverTool {
    public static let name = "find_all_correct_formulas"

    /// The tool as an OpenAI function definition (strict schema, four rank strings).
    public static var definition: JSONValue {
        let card: JSONValue = .object([("type", .string("string")),
                                       ("description", .string("rank of one card: 1-10, or A, J, Q, K"))])
        return .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(name)),
                ("description", .string("Returns every formula that makes 24 from four cards. Use it only when the target formula is NOT DETERMINED.")),
                ("strict", .bool(true)),
                ("parameters", .object([
                    ("type", .string("object")),
                    ("properties", .object((1...4).map { ("card\($0)", card) })),
                    ("required", .array((1...4).map { .string("card\($0)") })),
                    ("additionalProperties", .bool(false)),
                ])),
            ])),
        ])
    }

    /// Runs the tool: ranks J/Q/K/11/12/13 → 10, A → 1 (GTR's mapping), then the exact solver.
    public static func run(arguments: JSONValue) -> String {
        var numbers: [Int] = []
        for i in 1...4 {
            let v = arguments["card\(i)"]
            let text = v?.stringValue ?? v?.numberValue.map { String(Int($0)) } ?? ""
            guard let n = Card.value10(ofRank: text) else { return "Error: card\(i) '\(text)' is not a card rank (1-10, A, J, Q, K)" }
            numbers.append(n)
        }
        let sols = Solver.points24.solutions(numbers)
        return sols.isEmpty ? "No possible solution" : sols.map(\.text).joined(separator: ", ")
    }
}
