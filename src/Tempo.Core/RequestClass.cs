namespace Tempo.Core;

/// <summary>The three request classes of the paper (v1 names; v3 calls them latency, deadline, compound).</summary>
public enum RequestClass
{
    /// <summary>Streaming chat: SLO is time to first token plus a per-token pace (TBT).</summary>
    Latency = 0,

    /// <summary>Tool calls and full-response consumers: SLO is one end-to-end deadline.</summary>
    Throughput = 1,

    /// <summary>A call of a multi-call agent job: the whole job shares one deadline.</summary>
    Collective = 2,
}
