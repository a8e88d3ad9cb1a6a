import Foundation
import RMoECore
import RMoEData
import RMoERuns
import RMoEModel

public enum Fixtures {
    /// A tiny model on a small synthetic corpus: trains in well under a second.
    public static func tinyConfig(steps: Int = 20) -> RunConfig {
        var c = RunConfig()
        c.model.dModel = 16; c.model.layers = 2; c.model.heads = 2; c.model.ffnWidth = 32
        c.model.seqLen = 16; c.model.batch = 4
        c.model.experts = 4; c.model.topK = 2; c.model.expertWidth = 16; c.model[RMoERouter.routerDim] = 8
        c.steps = steps
        c.lr = 3e-3; c.warmup = 5; c.logEvery = 2; c.checkpointEvery = 10; c.evalEvery = 10; c.evalBatches = 2
        c.finalEvalWindows = 8
        c.threads = 2
        c.synthetic.trainTokens = 20_000; c.synthetic.evalTokens = 2_000
        c.synthetic.vocab = 32; c.synthetic.states = 8
        return c
    }

    public static func corpus(_ c: RunConfig) -> Corpus {
        SyntheticSource(c.synthetic).corpus(seqLen: c.model.seqLen)
    }

    /// A fresh empty folder under the system temp directory.
    public static func tempDir(_ tag: String = #function) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rmoe-test-\(tag.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Train losses (the "loss" of train lines) of a metrics file, as bit patterns.
    public static func trainLosses(_ path: String) -> [UInt64] {
        MetricsLog.read(path).filter { ($0["split"] as? String) == "train" }.map { ($0["loss"] as! NSNumber).doubleValue.bitPattern }
    }

    /// Path of the built `rmoe` executable (next to the test bundle).
    public static var executable: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rmoe").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/rmoe").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The environment of CLI children: this process's, with its BLAS kernels pinned, so that the child
    /// (which would otherwise re-execute itself with faster kernels on a CPU OpenBLAS does not know)
    /// computes bitwise what this process computes.
    public static var cliEnvironment: [String: String] {
        var e = ProcessInfo.processInfo.environment
        e["OPENBLAS_CORETYPE"] = e["OPENBLAS_CORETYPE"] ?? BLASCore.current
        return e
    }

    /// Runs the CLI; returns (exit status, stdout, stderr).
    public static func runCLI(_ args: [String], cwd: String? = nil, binary: String? = nil, env: [String: String] = [:]) throws -> (
        status: Int32, out: String, err: String
    ) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary ?? executable)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var e = cliEnvironment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let dir = tempDir("cli")
        let outPath = dir + "/out", errPath = dir + "/err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        try p.run()
        p.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (p.terminationStatus, out, err)
    }
}
