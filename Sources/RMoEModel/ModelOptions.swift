import RMoECore

/// Expert kind: SwiGLU (`w1`, `w3`, `w2`) or ReLU with biases (`w1`, `b1`, `w2`, `b2`, the enwik8 code's expert).
public enum ExpertKind: String, ConfigChoice { case swiglu, relu }

/// Init of router parameters: PyTorch's Linear/GRU default U(±1/sqrt(fan_in)) (`torch`, the enwik8
/// code) or N(0, init_std) with zero biases (`normal`, the Hugging Face code).
public enum RouterInitMode: String, ConfigChoice { case torch, normal }

/// Init of expert weights: N(0, init_std) (`normal`), the FastMoE quirk U(±1/sqrt(out·in)) over the
/// stacked tensor (`fastmoe`), or per expert U(±1/sqrt(in)) for weights and biases (`torch`).
public enum ExpertInitMode: String, ConfigChoice { case normal, fastmoe, torch }

/// CosineMoE / XMoE: both sides L2-normalised with a learnable temperature (`paper`), or only the
/// expert embeddings normalised, no temperature (`code`, the CompeteSMoE / torchscale code).
public enum CosineForm: String, ConfigChoice { case paper, code }

/// RMoE-NP-r: the residual is the previous layer's `own` logits or its `accumulated` logits.
public enum NPResidual: String, ConfigChoice { case own, accumulated }

extension ExpertKind: ConfigValue {}
extension RouterInitMode: ConfigValue {}
extension ExpertInitMode: ConfigValue {}
extension CosineForm: ConfigValue {}
extension NPResidual: ConfigValue {}
