import Testing
@testable import Environments

/// An independent brute force: doubles with a tolerance, unordered pairs combined six ways.
func bruteForceSolvable(_ xs: [Double], target: Double = 24) -> Bool {
    if xs.count == 1 { return abs(xs[0] - target) < 1e-9 }
    for i in 0..<xs.count {
        for j in (i + 1)..<xs.count {
            var rest = xs.enumerated().filter { $0.offset != i && $0.offset != j }.map(\.element)
            let (a, b) = (xs[i], xs[j])
            var cands = [a + b, a - b, b - a, a * b]
            if b != 0 { cands.append(a / b) }
            if a != 0 { cands.append(b / a) }
            for c in cands {
                rest.append(c)
                if bruteForceSolvable(rest, target: target) { return true }
                rest.removeLast()
            }
        }
    }
    return false
}

@Suite struct SolverTests {
    static let multisets: [[Int]] = {
        var out: [[Int]] = []
        for a in 1...10 { for b in a...10 { for c in b...10 { for d in c...10 { out.append([a, b, c, d]) } } } }
        return out
    }()

    @Test func solvableFractionMatchesBruteForce() {
        #expect(SolverTests.multisets.count == 715)
        let solver = Solver()
        var ours = 0, theirs = 0
        for m in SolverTests.multisets {
            let a = solver.solvable(m), b = bruteForceSolvable(m.map(Double.init))
            #expect(a == b, "disagree on \(m)")
            if a { ours += 1 }
            if b { theirs += 1 }
        }
        #expect(ours == theirs)
        #expect(ours == 566)  // the known count of solvable 1…10 hands
    }

    @Test func everySolutionEvaluatesToTargetAndUsesEachNumberOnce() throws {
        let solver = Solver()
        for m in SolverTests.multisets where m.reduce(0, +) % 7 == 0 {
            let sols = solver.solutions(m)
            #expect(sols.isEmpty == !solver.solvable(m))
            #expect(Set(sols.map(\.key)).count == sols.count, "duplicates for \(m)")
            for s in sols {
                for form in s.forms {
                    #expect(try FormulaEvaluator.evaluate(form) == Rational(24), "\(form) for \(m)")
                    #expect(form.compactMap { if case let .number(n) = $0 { return n }; return nil }.sorted() == m)
                }
            }
        }
    }

    @Test func knownHands() {
        let s = Solver()
        let hard = s.solutions([3, 3, 8, 8])
        #expect(hard.count == 1 && hard[0].text == "8/(3-8/3)")
        #expect(s.solutions([1, 1, 1, 1]).isEmpty)
        // commutative and associative rewrites collapse: 1+2+3+4 style sums appear once
        let sums = s.solutions([6, 6, 6, 6])
        #expect(sums.contains { $0.text == "6+6+6+6" })
        #expect(sums.filter { $0.key == "S(+6,+6,+6,+6)" }.count == 1)
    }

    @Test func completionsOfPartialFormulas() throws {
        let s = Solver()
        let m = [3, 3, 8, 8]
        #expect(s.completions(m, prefix: []).count == 1)
        #expect(s.completions(m, prefix: FormulaEvaluator.tokenize("8/(")!).count == 1)
        #expect(s.completions(m, prefix: FormulaEvaluator.tokenize("8/(3-")!).count == 1)
        #expect(s.completions(m, prefix: FormulaEvaluator.tokenize("8*")!).isEmpty)
        #expect(s.completions(m, prefix: FormulaEvaluator.tokenize("3+")!).isEmpty)
        // blanks from invalid moves are ignored
        #expect(s.completions(m, prefix: [.number(8), .blank, .symbol("/")]).count == 1)
        // written forms with redundant brackets also count
        let t = s.completions([4, 6, 1, 1], prefix: FormulaEvaluator.tokenize("(4*6)*")!)
        #expect(!t.isEmpty)
    }

    @Test func ezpointsSolver() {
        let s = Solver(target: 12, operators: ["+", "*"])
        #expect(s.solutions([3, 4]).map(\.text) == ["3*4"])
        #expect(s.solutions([2, 10]).map(\.text) == ["10+2"])
        #expect(s.solutions([5, 5]).isEmpty)
    }

    @Test func formulaEvaluatorErrors() {
        func ev(_ s: String) -> Result<Rational, FormulaError> {
            Result { try FormulaEvaluator.evaluate(FormulaEvaluator.tokenize(s)!) }.mapError { $0 as! FormulaError }
        }
        #expect(ev("") == .failure(.empty))
        #expect(ev("1/0") == .failure(.divisionByZero))
        #expect(ev("(1+2") == .failure(.unbalanced))
        #expect(ev("1+2)") == .failure(.unbalanced))
        #expect(ev("1+") == .failure(.unexpectedEnd))
        #expect(ev("()") == .failure(.unexpected(position: 1, token: ")")))
        #expect(ev("2(3)") == .failure(.unexpected(position: 1, token: "(")))
        #expect(ev("((2))*((3))*4") == .success(Rational(24)))
        #expect(ev("10/4*8-(-4)") == .success(Rational(24)))
        #expect(ev(String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)) == .failure(.overflow))
    }
}
