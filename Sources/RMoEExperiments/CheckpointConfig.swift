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
        guard let emb = file.info("tok_emb.weight"), emb.shape.count == 2 else {
            throw RMoEError("\(what) has no 2-D tensor 'tok_emb.weight'; it is not a checkpoint of this model family")
        }
        c.model.vocab = emb.shape[0]
        c.model.dModel = emb.shape[1]
        var layers = 0
        while file.info("layers.\(layers).attn_norm.weight") != nil { layers += 1 }
        guard layers > 0 else { throw RMoEError("\(what) has no 'layers.0.attn_norm.weight'; it is not a checkpoint of this model family") }
        c.model.layers = layers
        if let w1 = file.info("layers.0.ffn.w1.weight") {
            if c.model.router != "dense" {
                throw RMoEError("\(what) holds a dense FFN ('layers.0.ffn.w1.weight') but the config says router = \(c.model.router); pass --set router=dense")
            }
            c.model.ffnWidth = w1.shape[0]
        } else if let w1 = file.info("layers.0.moe.experts.w1"), w1.shape.count == 3 {
            if c.model.router == "dense" {
                throw RMoEError("\(what) holds MoE experts ('layers.0.moe.experts.w1') but the config says router = dense; pass --set router=NAME")
            }
            c.model.experts = w1.shape[0]
            c.model.expertWidth = w1.shape[1]
            let r = "layers.0.moe.router."
            if let proj = file.info(r + "proj.weight") { c.model.routerDim = proj.shape[0] }
            if let fc1 = file.info(r + "fc1.weight") {
                c.model.mlpDim = fc1.shape[0]
                if c.model.routerBias, file.info(r + "fc1.bias") != nil { c.model.mlpOutBias = file.info(r + "fc2.bias") != nil }
            }
            if let red = file.info(r + "reduce.weight") { c.model.xmoeDim = red.shape[0] }
            if let hyp = file.info(r + "hypernet.fc1.weight") { c.model.hyperDim = hyp.shape[0] }
            if file.info(r + "expert_emb") != nil { c.model.cosineForm = file.info(r + "temperature") != nil ? "paper" : "code" }
            let hasW3 = file.info("layers.0.moe.experts.w3") != nil
            if hasW3 && c.model.expert == "relu" {
                throw RMoEError("\(what) has tensor 'layers.0.moe.experts.w3' (a SwiGLU expert) but the config says expert = relu; pass --set expert=swiglu")
            }
            if !hasW3 && c.model.expert == "swiglu" {
                throw RMoEError("\(what) lacks tensor 'layers.0.moe.experts.w3', so its experts are not SwiGLU; pass --set expert=relu")
            }
        } else {
            throw RMoEError("\(what) has neither 'layers.0.ffn.w1.weight' nor 'layers.0.moe.experts.w1'; it is not a checkpoint of this model family")
        }
        try c.model.validate()
        return c
    }
}
