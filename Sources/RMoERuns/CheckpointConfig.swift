import Foundation
import RMoECore
import RMoEModel

/// Reads a model's sizes off a checkpoint's tensor shapes, so that checkpoints written by other
/// programs (with no metadata) load: vocab and d_model from `tok_emb.weight`, layers from the
/// `layers.{i}.` prefixes, the FFN or expert widths and expert count from their tensors, and the
/// router family's own widths as the family reads them (`RouterFamily.inferFields`). What shapes do not imply (heads, top_k, router, router_bias, expert,
/// balance_coef) comes from the config; shapes that disagree with it are errors naming the tensor.
public enum CheckpointConfig {
    /// The run config of a checkpoint: its own `config` metadata when rmoe wrote it (else the
    /// defaults), then `configFile`, then the `key=value` assignments, then the sizes read off
    /// the shapes (which must agree). So checkpoints without metadata load given the fields the
    /// shapes do not imply (heads, top_k, router, router_bias, expert, corpus, ...).
    public static func resolve(_ file: SafeTensorsFile, configFile: String? = nil, assignments: [String] = []) throws -> RunConfig {
        var base = RunConfig()
        if let text = file.metadata["config"] { base = try RunConfig.fromJSON(text, origin: "checkpoint \(file.source) metadata") }
        if let configFile { try base.apply(file: configFile) }
        for a in assignments { try base.apply(assignment: a, origin: "--set") }
        return try infer(from: file, base: base)
    }

    public static func infer(from file: SafeTensorsFile, base: RunConfig) throws -> RunConfig {
        var c = base
        let what = "checkpoint \(file.source)"
        // Every shape read below is checked for its rank and for sizes in 1...maxWidth-ish bounds first,
        // so a hostile file gives an error naming the tensor, never a trap or a huge allocation.
        func shape(_ name: String, rank: Int) throws -> [Int]? {
            guard let info = file.info(name) else { return nil }
            guard info.shape.count == rank else {
                throw RMoEError(
                    "\(what): tensor '\(name)' has \(info.shape.count) dimensions \(info.shape), expected \(rank); it is not a checkpoint of this model family")
            }
            guard info.shape.allSatisfy({ $0 >= 1 && $0 <= ModelConfig.maxVocab }) else {
                throw RMoEError(
                    "\(what): tensor '\(name)' has shape \(info.shape), with a dimension outside 1...\(ModelConfig.maxVocab); it is not a usable checkpoint")
            }
            return info.shape
        }
        guard let emb = try shape("tok_emb.weight", rank: 2) else {
            throw RMoEError("\(what) has no 2-D tensor 'tok_emb.weight'; it is not a checkpoint of this model family")
        }
        c.model.vocab = emb[0]
        c.model.dModel = emb[1]
        var layers = 0
        while layers <= ModelConfig.maxLayers, file.info("layers.\(layers).attn_norm.weight") != nil { layers += 1 }
        guard layers > 0 else { throw RMoEError("\(what) has no 'layers.0.attn_norm.weight'; it is not a checkpoint of this model family") }
        c.model.layers = layers
        if let w1 = try shape("layers.0.ffn.w1.weight", rank: 2) {
            if c.model.router != "dense" {
                throw RMoEError("\(what) holds a dense FFN ('layers.0.ffn.w1.weight') but the config says router = \(c.model.router); pass --set router=dense")
            }
            c.model.ffnWidth = w1[0]
        } else if let w1 = try shape("layers.0.moe.experts.w1", rank: 3) {
            if c.model.router == "dense" {
                throw RMoEError("\(what) holds MoE experts ('layers.0.moe.experts.w1') but the config says router = dense; pass --set router=NAME")
            }
            c.model.experts = w1[0]
            c.model.expertWidth = w1[1]
            // The router family reads its own widths from layer 0's router tensors (and its shared ones).
            if let family = Routers.family(of: c.model.router) {
                try family.inferFields(&c.model) { name, rank in
                    try shape(name.hasPrefix("router_rnn.") ? name : "layers.0.moe.router." + name, rank: rank)
                }
            }
            let hasW3 = file.info("layers.0.moe.experts.w3") != nil
            if hasW3 && c.model.expert == .relu {
                throw RMoEError("\(what) has tensor 'layers.0.moe.experts.w3' (a SwiGLU expert) but the config says expert = relu; pass --set expert=swiglu")
            }
            if !hasW3 && c.model.expert == .swiglu {
                throw RMoEError("\(what) lacks tensor 'layers.0.moe.experts.w3', so its experts are not SwiGLU; pass --set expert=relu")
            }
        } else {
            throw RMoEError("\(what) has neither 'layers.0.ffn.w1.weight' nor 'layers.0.moe.experts.w1'; it is not a checkpoint of this model family")
        }
        try c.model.validate()
        return c
    }
}
