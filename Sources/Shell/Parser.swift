/// A parsed statement of the command language.
public indirect enum Statement: Sendable {
    /// A command: its words (the first is the name).
    case command([Word], SourcePosition)
    /// `repeat N { … }`
    case repeatBlock(count: Word, body: [Statement], SourcePosition)
    /// `while COND { … }`
    case whileBlock(condition: [Word], body: [Statement], SourcePosition)
    /// `if COND { … } [else { … }]`
    case ifBlock(condition: [Word], then: [Statement], otherwise: [Statement], SourcePosition)

    public var position: SourcePosition {
        switch self {
        case let .command(_, p), let .repeatBlock(_, _, p), let .whileBlock(_, _, p), let .ifBlock(_, _, _, p): return p
        }
    }
}

/// Grammar (EBNF):
///
///     script    = { separator } [ statement { separator { separator } statement } ] { separator }
///     statement = "repeat" word block | "while" cond block | "if" cond block [ "else" block ] | command
///     block     = "{" script "}"
///     command   = word { word }
///     cond      = word { word }          (everything up to the block's "{")
public struct Parser {
    public static let maxDepth = 64
    private let tokens: [Token]
    private var i = 0
    private let endPosition: SourcePosition

    public static func parse(_ text: String, file: String = "<input>", firstLine: Int = 1) throws -> [Statement] {
        let toks = try Lexer.tokenize(text, file: file, firstLine: firstLine)
        var p = Parser(tokens: toks, end: SourcePosition(file: file, line: firstLine + text.filter { $0 == "\n" }.count, column: 1))
        let stmts = try p.script(depth: 0, inBlock: false)
        return stmts
    }

    private init(tokens: [Token], end: SourcePosition) { self.tokens = tokens; endPosition = end }

    private var atEnd: Bool { i >= tokens.count }

    private mutating func skipSeparators() {
        while i < tokens.count, case .separator = tokens[i] { i += 1 }
    }

    /// `openedAt`: where the block being read opened (an unclosed block is reported there, not at the end).
    private mutating func script(depth: Int, inBlock: Bool, openedAt: SourcePosition? = nil) throws -> [Statement] {
        var out: [Statement] = []
        while true {
            skipSeparators()
            if atEnd {
                if inBlock {
                    throw ShellSyntaxError(position: openedAt ?? endPosition, message: "unterminated block: this '{' has no matching '}'", incomplete: true)
                }
                return out
            }
            if case let .closeBrace(p) = tokens[i] {
                if inBlock { return out }
                throw ShellSyntaxError(position: p, message: "unexpected '}'", incomplete: false)
            }
            out.append(try statement(depth: depth))
        }
    }

    private mutating func block(depth: Int, after: SourcePosition) throws -> [Statement] {
        guard depth < Parser.maxDepth else { throw ShellSyntaxError(position: after, message: "blocks nested deeper than \(Parser.maxDepth)", incomplete: false) }
        while i < tokens.count, case .separator = tokens[i] { i += 1 }
        guard i < tokens.count else { throw ShellSyntaxError(position: after, message: "expected '{'", incomplete: true) }
        guard case let .openBrace(opened) = tokens[i] else { throw ShellSyntaxError(position: after, message: "expected '{'", incomplete: false) }
        i += 1
        let body = try script(depth: depth + 1, inBlock: true, openedAt: opened)
        i += 1  // the closing brace
        return body
    }

    private mutating func statement(depth: Int) throws -> Statement {
        var words: [Word] = []
        var start: SourcePosition?
        while i < tokens.count {
            switch tokens[i] {
            case let .word(w):
                if start == nil { start = w.position }
                words.append(w); i += 1
            case let .openBrace(p):
                let head = words.first.flatMap { $0.quoted ? nil : $0.literal }
                switch head {
                case "repeat":
                    guard words.count == 2 else { throw ShellSyntaxError(position: start ?? p, message: "usage: repeat N { … }", incomplete: false) }
                    let body = try block(depth: depth, after: p)
                    return .repeatBlock(count: words[1], body: body, start!)
                case "while":
                    guard words.count >= 2 else { throw ShellSyntaxError(position: start ?? p, message: "usage: while COND { … }", incomplete: false) }
                    let body = try block(depth: depth, after: p)
                    return .whileBlock(condition: Array(words.dropFirst()), body: body, start!)
                case "if":
                    guard words.count >= 2 else { throw ShellSyntaxError(position: start ?? p, message: "usage: if COND { … } [else { … }]", incomplete: false) }
                    let body = try block(depth: depth, after: p)
                    var other: [Statement] = []
                    if i < tokens.count, case let .word(w) = tokens[i], w.literal == "else", !w.quoted {
                        i += 1
                        other = try block(depth: depth, after: w.position)
                    }
                    return .ifBlock(condition: Array(words.dropFirst()), then: body, otherwise: other, start!)
                default:
                    throw ShellSyntaxError(position: p, message: "'{' only opens a block after repeat, while or if (quote it to pass a literal brace)", incomplete: false)
                }
            case .closeBrace, .separator:
                return .command(words, start!)
            }
        }
        if let h = words.first?.literal, !(words.first!.quoted), ["repeat", "while", "if"].contains(h) {
            throw ShellSyntaxError(position: endPosition, message: "expected '{' after \(h)", incomplete: true)
        }
        return .command(words, start!)
    }
}
