import Foundation
import Synchronization

/// Ctrl-C handling: SIGINT sets a flag; long-running commands and loops poll it and stop with
/// `ShellError.interrupted`, which returns the REPL to its prompt instead of killing the shell.
public enum Interrupt {
    static let flag = Atomic<Int>(0)

    public static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupt.flag.store(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: a blocking read returns so the prompt can be redrawn
        sigaction(SIGINT, &action, nil)
        // A parent may hand us a blocked SIGINT (tmux's server does); unblock it or Ctrl-C never arrives.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    public static var pending: Bool { flag.load(ordering: .relaxed) != 0 }
    public static func clear() { flag.store(0, ordering: .relaxed) }
    /// Raises the flag as SIGINT would (tests, and `gtr run` under a timeout).
    public static func raise() { flag.store(1, ordering: .relaxed) }

    static func check() throws {
        if pending { clear(); throw ShellError.interrupted }
    }
}
