import ArgumentParser
import RMoECore
import RMoERuns

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the resolved config (defaults < --config < --set), or list every field.")

    @Flag(help: "List every field with its default and meaning.") var fields = false
    @OptionGroup var options: ConfigOptions

    func run() throws {
        if fields {
            let d = RunConfig()
            for f in RunConfig.fields {
                print(
                    "\(f.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(d.value(of: f.name)!.padding(toLength: 12, withPad: " ", startingAt: 0)) \(f.help)"
                )
            }
            return
        }
        print(try options.resolve().jsonText, terminator: "")
    }
}
