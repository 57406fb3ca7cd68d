import Foundation
import Testing
@testable import Environments

/// Developer hook: compares one game against one driver transcript named by GTR_HOUSEHOLD_PROBE=GAME:TRANSCRIPT.
@Suite struct HouseholdProbeTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GTR_HOUSEHOLD_PROBE"] != nil)) func probe() throws {
        let parts = ProcessInfo.processInfo.environment["GTR_HOUSEHOLD_PROBE"]!.split(separator: ":").map(String.init)
        let world = try HouseholdWorld(gameFile: URL(fileURLWithPath: parts[0]))
        let t = try JSONParser.parse(String(contentsOfFile: parts[1], encoding: .utf8))
        let r = HouseholdConformance.compare(world: world, transcript: t)
        #expect(r.identical, "\(r.differences.prefix(5).joined(separator: "\n"))")
    }
}
