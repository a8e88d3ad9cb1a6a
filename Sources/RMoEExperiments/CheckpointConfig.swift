import Foundation
import RMoECore
import RMoEModel

/// Reads a model's sizes off a checkpoint's tensor shapes, so that checkpoints written by other
/// programs (with no metadata) load: vocab and d_model from `tok_emb.weight`, layers from the
/// `layers.{i}.` prefixes, the FFN or expert widths and expert count from their tensors, the RMoE
/// width from the projector (and the MLP, XMoE and hypernetwork widths, and the cosine routers' form
/// from whether a temperature is stored). What shapes do not imply (heads, top_k, router, router_bias, expert,
/// balance_coef) comes from the config; shapes that disagree with it are errors naming the tensor.
public enum CheckpointConfig {
    public static func infer(from file: SafeTensorsFile, base: RunConfig) throws -> RunConfig {
        var c = base
        let what = "checkpoint \(file.source)"
        // Every shape read below is checked for its rank and for sizes in 1...maxWidth-ish bounds first,
        // so a hostile file gives an error naming the tensor, never a trap or a huge allocation.
        func shape(_ name: String, rank: Int) throws -> [Int]? {
            guard let info = file.info(name) else { return nil }
            guard info.shape.count == rank else {
                throw RMoEError("\(what): tensor '\(name)' has \(info.shape.count) dimensions \(info.shape), expected \(rank); it is not a checkpoint of this model family")
            }
            guard info.shape.allSatisfy({ $0 >= 1 && $0 <= ModelConfig.maxVocab }) else {
                throw RMoEError("\(what): tensor '\(name)' has shape \(info.shape), with a dimension outside 1...\(ModelConfig.maxVocab); it is not a usable checkpoint")
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
            let r = "layers.0.moe.router."
            if let proj = try shape(r + "proj.weight", rank: 2) { c.model.routerDim = proj[0] }
            if let fc1 = try shape(r + "fc1.weight", rank: 2) {
                c.model.mlpDim = fc1[0]
                if c.model.routerBias, file.info(r + "fc1.bias") != nil { c.model.mlpOutBias = file.info(r + "fc2.bias") != nil }
            }
            if let red = try shape(r + "reduce.weight", rank: 2) { c.model.xmoeDim = red[0] }
            if let hyp = try shape(r + "hypernet.fc1.weight", rank: 2) { c.model.hyperDim = hyp[0] }
            if file.info(r + "expert_emb") != nil { c.model.cosineForm = file.info(r + "temperature") != nil ? .paper : .code }
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
