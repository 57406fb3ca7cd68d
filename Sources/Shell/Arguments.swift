import Support

/// The words of one command, parsed and validated against its `CommandSpec`: positional words in order and
/// typed `key=value` options. Every check happens before the command runs, so a bad value or a stray word is one
/// error line and nothing is half done.
struct Arguments: Sendable {
    var positional: [String] = []
    var options: [String: String] = [:]
    var optionOrder: [String] = []
    /// Raw words after the command name (free-text commands such as `echo`, and `expect`'s quoted message).
    var all: [String]
    var quoted: [Bool]
    private var specOptions: [OptionSpec] = []
    private var duplicates: [String] = []

    /// `key` when `text` starts with `key=` and key is a name (a letter, then letters, digits or `_`).
    static func optionKey(of text: String) -> String? {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text[text.startIndex].isASCII, text[text.startIndex].isLetter,
              text[..<eq].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { return nil }
        return String(text[..<eq])
    }

    /// Splits expanded words into positionals and options. A word is an option when it was written `key=…`
    /// (the value may be quoted: `seed="5"`, `text="{…}"`), or when an unquoted word expands to `key=…`.
    init(_ args: [String], words: [Word]) {
        all = args
        quoted = words.map(\.quoted)
        for (i, a) in args.enumerated() {
            let w = i < words.count ? words[i] : nil
            let key = w?.optionKey ?? ((w?.quoted ?? false) ? nil : Arguments.optionKey(of: a))
            if let key, a.hasPrefix(key + "=") {
                if options[key] == nil { optionOrder.append(key) } else { duplicates.append(key) }
                options[key] = String(a.dropFirst(key.count + 1))
            } else {
                positional.append(a)
            }
        }
    }

    /// Parses `args` for `spec`, or throws the first problem as a `CommandError`.
    static func parse(_ args: [String], words: [Word], spec: CommandSpec) throws -> Arguments {
        let textTakesAll = spec.positionals.contains { $0.arity == .text }
        if textTakesAll {
            var a = Arguments([], words: [])
            a.all = args; a.quoted = words.map(\.quoted); a.positional = args; a.specOptions = spec.options
            return a
        }
        var a = Arguments(args, words: words)
        a.specOptions = spec.options
        if let d = a.duplicates.first { throw CommandError("\(d)= is given twice") }
        for k in a.optionOrder {
            let v = a.options[k]!
            if let o = spec.option(k) {
                if let why = o.kind.check(v) { throw CommandError("\(k)=\(v.prefix(40)): \(why)") }
            } else if !spec.envOptions {
                let best = spec.options.map(\.key).min { editDistance($0, k) < editDistance($1, k) }
                let hint = best.map { editDistance($0, k) <= max(2, k.count / 2) ? "; did you mean \($0)=?" : "" } ?? ""
                let known = spec.options.isEmpty ? " (\(spec.name) takes no options)" : ""
                throw CommandError("unknown option '\(k)'\(hint)\(known) (usage: \(spec.usage))")
            }
        }
        // Positional words against the declared arity and choices.
        var i = 0
        for p in spec.positionals {
            switch p.arity {
            case .one:
                guard i < a.positional.count else { throw CommandError("missing \(p.name) (usage: \(spec.usage))") }
                try check(a.positional[i], p, spec); i += 1
            case .optional:
                if i < a.positional.count { try check(a.positional[i], p, spec); i += 1 }
            case .many, .text:
                i = a.positional.count
            }
        }
        if i < a.positional.count {
            throw CommandError("unexpected word '\(a.positional[i].prefix(40))' (usage: \(spec.usage))")
        }
        return a
    }

    private static func check(_ word: String, _ p: PositionalSpec, _ spec: CommandSpec) throws {
        guard let c = p.choices, !c.contains(word) else { return }
        let best = c.min { editDistance($0, word) < editDistance($1, word) }
        let hint = best.map { editDistance($0, word) <= max(2, word.count / 2) ? "; did you mean '\($0)'?" : "" } ?? ""
        throw CommandError("unknown \(p.name) '\(word.prefix(40))'\(hint) (\(c.joined(separator: ", ")))")
    }

    // MARK: typed values (the default is the declaration's)

    private func raw(_ key: String) -> String? { options[key] ?? specOptions.first { $0.key == key }?.defaultValue }

    func string(_ key: String) -> String? { raw(key) }
    func int(_ key: String) -> Int? { raw(key).flatMap { Int($0) } }
    func double(_ key: String) -> Double? { raw(key).flatMap { Double($0) } }
    func float(_ key: String) -> Float? { double(key).map { Float($0) } }
    func bool(_ key: String) -> Bool? { raw(key).flatMap { Bool($0) } }
    func seed(_ key: String = "seed") -> UInt64? { raw(key).flatMap { UInt64($0) } }
    /// Options the command does not declare (handed to the environment).
    var extraOptions: [String: String] { options.filter { k, _ in !specOptions.contains { $0.key == k } } }
}
