import ArgumentParser
import Foundation
import RMoECore
import RMoERuns

@main
struct RMoECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmoe",
        abstract: "Mixture-of-Experts language models on the CPU: train, evaluate, benchmark.",
        discussion: "Configs: defaults < --config FILE < --set key=value and the named options. `rmoe config --fields` lists every field.",
        version: Provenance.versionLine,
        subcommands: [
            Train.self, Sweep.self, CompareCommand.self, Eval.self, Analyze.self, Grads.self, RoutersCommand.self, CorpusCommand.self, ConfigCommand.self,
            Bench.self,
        ]
    )

    static func main() {
        // OpenBLAS's generic kernels on a CPU it does not know are ~3x slower: re-execute with the right ones.
        BLASCore.reexecIfGeneric()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version and the like.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            // Every error is one line on stderr (the usage stays behind --help), with a non-zero status.
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            System.printError("Error: " + text)
            Foundation.exit(code.rawValue)
        }
    }
}
