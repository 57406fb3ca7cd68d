import Foundation
import Support

/// A playing card in gym-cards' notation: suit first (H S D C), then rank (A 2-9 T J Q K), e.g. "HT", "SK".
public struct Card: Hashable, Sendable, CustomStringConvertible {
    public enum Suit: Character, CaseIterable, Sendable {
        case hearts = "H", spades = "S", diamonds = "D", clubs = "C"
        public var isRed: Bool { self == .hearts || self == .diamonds }
        public var symbol: String {
            switch self { case .hearts: return "♥"; case .spades: return "♠"; case .diamonds: return "♦"; case .clubs: return "♣" }
        }
    }

    public let suit: Suit
    /// 1 (ace) … 13 (king).
    public let rank: Int

    public init(suit: Suit, rank: Int) {
        precondition((1...13).contains(rank))
        self.suit = suit; self.rank = rank
    }

    /// Parses "HJ", "DT", "S10", "C7", "HA" (case-insensitive). Returns nil for anything else.
    public init?(_ code: String) {
        let u = code.uppercased()
        guard let f = u.first, let s = Suit(rawValue: f) else { return nil }
        let r = String(u.dropFirst())
        let ranks = ["A": 1, "T": 10, "10": 10, "J": 11, "Q": 12, "K": 13]
        if let v = ranks[r] { self.init(suit: s, rank: v); return }
        guard let v = Int(r), (1...9).contains(v) else { return nil }
        self.init(suit: s, rank: v)
    }

    /// gym-cards' rank letter (T for ten).
    public var rankCode: String { [1: "A", 10: "T", 11: "J", 12: "Q", 13: "K"][rank] ?? String(rank) }
    /// The rank as printed on the card face.
    public var rankLabel: String { rank == 10 ? "10" : rankCode }
    public var description: String { "\(suit.rawValue)\(rankCode)" }
    /// Value with J/Q/K counted as 10.
    public var value10: Int { min(rank, 10) }
}

extension Card {
    /// A rank written as text (a thought's card list, a tool argument), valued as the card games count it:
    /// "A" → 1, J/Q/K and 11–13 → 10, "2"–"10" as is; nil for anything else.
    public static func value10(ofRank text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        switch t {
        case "A", "ACE": return 1
        case "J", "Q", "K", "JACK", "QUEEN", "KING", "11", "12", "13": return 10
        default: if let n = Int(t), (1...10).contains(n) { return n }; return nil
        }
    }
}

extension RGB {
    /// gym-cards' table colour.
    public static let table = RGB(hex: 0x35654D)
    public static let cardRed = RGB(hex: 0xC8102E)
    public static let cardBorder = RGB(hex: 0xB0B0B0)
}

/// Draws cards procedurally (no image files): a white card with a grey border, the rank and a small suit in the
/// top-left corner, a large suit symbol in the middle and the rank again bottom-right, red for hearts and
/// diamonds, black otherwise.
public enum CardPainter {
    public static func draw(_ card: Card, x: Int, y: Int, w: Int, h: Int, on img: inout RGBImage) {
        img.fillRect(x: x, y: y, w: w, h: h, .cardBorder)
        img.fillRect(x: x + 1, y: y + 1, w: w - 2, h: h - 2, .white)
        let color: RGB = card.suit.isRed ? .cardRed : .black
        let scale = max(1, w / 30)
        let label = card.rankLabel
        BitmapFont.draw(label, x: x + 3, y: y + 3, scale: scale, color: color, on: &img)
        let small = 7 * scale
        drawSuit(card.suit, x: x + 3, y: y + 5 + 7 * scale, size: small, color: color, on: &img)
        let big = min(w, h) / 2
        drawSuit(card.suit, x: x + (w - big) / 2, y: y + (h - big) / 2, size: big, color: color, on: &img)
        let lw = BitmapFont.width(label, scale: scale) - scale
        BitmapFont.draw(label, x: x + w - 3 - lw, y: y + h - 3 - 7 * scale, scale: scale, color: color, on: &img)
    }

    /// Draws a card back (Blackjack's hidden dealer card).
    public static func drawBack(x: Int, y: Int, w: Int, h: Int, on img: inout RGBImage) {
        img.fillRect(x: x, y: y, w: w, h: h, .cardBorder)
        img.fillRect(x: x + 1, y: y + 1, w: w - 2, h: h - 2, .white)
        img.fillRect(x: x + 4, y: y + 4, w: w - 8, h: h - 8, RGB(hex: 0x1F3A93))
        img.fillShape(x: x + 4, y: y + 4, w: w - 8, h: h - 8, RGB(hex: 0x3E5FC2)) { u, v in
            (Int(u) + Int(v)) % 8 < 2 || (Int(u) - Int(v) + 800) % 8 < 2
        }
    }

    public static func drawSuit(_ suit: Card.Suit, x: Int, y: Int, size: Int, color: RGB, on img: inout RGBImage) {
        let s = Double(size)
        img.fillShape(x: x, y: y, w: size, h: size, color) { px, py in
            let (u, v) = (px / s, py / s)
            switch suit {
            case .diamonds: return abs(u - 0.5) / 0.38 + abs(v - 0.5) / 0.5 <= 1
            case .hearts: return heart(u, v)
            case .spades:
                return heart(u, 1.0 - (v / 0.8)) && v < 0.8 || stem(u, v)
            case .clubs:
                func disc(_ cx: Double, _ cy: Double) -> Bool { (u - cx) * (u - cx) + (v - cy) * (v - cy) <= 0.045 }
                return disc(0.5, 0.26) || disc(0.27, 0.52) || disc(0.73, 0.52) || stem(u, v)
            }
        }
    }

    private static func heart(_ u: Double, _ v: Double) -> Bool {
        let r2 = 0.055
        if (u - 0.3) * (u - 0.3) + (v - 0.3) * (v - 0.3) <= r2 { return true }
        if (u - 0.7) * (u - 0.7) + (v - 0.3) * (v - 0.3) <= r2 { return true }
        guard v >= 0.3, v <= 0.95 else { return false }
        return abs(u - 0.5) <= 0.46 * (0.95 - v) / 0.65
    }

    private static func stem(_ u: Double, _ v: Double) -> Bool {
        v >= 0.5 && v <= 0.98 && abs(u - 0.5) <= 0.05 + 0.22 * max(0, v - 0.75) / 0.23
    }
}
