import ArgumentParser
import RMoEModel

struct RoutersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routers", abstract: "List every router with a one-line description and its reference.")

    func run() throws {
        print("dense        dense SwiGLU FFN of width ffn_width (0 = top_k * expert_width: matched active FLOPs)")
        for r in Routers.descriptions {
            print(r.name.padding(toLength: 12, withPad: " ", startingAt: 0) + " " + r.summary)
        }
    }
}
