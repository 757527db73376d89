namespace Tempo.Workloads;

/// <summary>What one top-level arrival is.</summary>
internal enum ArrivalKind
{
    /// <summary>A streaming chat request.</summary>
    Latency = 0,

    /// <summary>A full-response request with an end-to-end deadline.</summary>
    Throughput = 1,

    /// <summary>A tree-of-thought job (8 calls, stages [3,1,3,1]).</summary>
    TreeOfThought = 2,

    /// <summary>A recorded deep-research job.</summary>
    DeepResearch = 3,
}

/// <summary>Arrival counts per kind.</summary>
/// <param name="Latency">Latency requests.</param>
/// <param name="Throughput">Throughput requests.</param>
/// <param name="TreeOfThought">Tree-of-thought jobs.</param>
/// <param name="DeepResearch">Deep-research jobs.</param>
internal readonly record struct MixCounts(int Latency, int Throughput, int TreeOfThought, int DeepResearch)
{
    /// <summary>All arrivals.</summary>
    public int Total => Latency + Throughput + TreeOfThought + DeepResearch;

    /// <summary>
    /// The artifact's create_trace rule (evaluation note A.3, docs/WORKLOADS.md): with weights a, b, c/7 normalised, latency =
    /// ⌊N·a/(a+b+c/7)⌋, throughput = ⌊N·b/…⌋, collective = ⌊N·(c/7)/…⌋, the remainder to latency; the tree-of-thought
    /// share of collective jobs is rounded down and the rest is deep research. A tiny epsilon keeps exact quotients
    /// (3000·7/15 = 1400) from flooring to one less through floating-point error.
    /// Deviation: when the latency weight is zero the remainder goes to the first class with a positive weight, so a
    /// class the user switched off never appears.
    /// </summary>
    public static MixCounts Of(int n, ClassRatio ratio, double totFraction)
    {
        const double epsilon = 1e-9;
        var collectiveWeight = ratio.Collective / 7.0;
        var denominator = ratio.Latency + ratio.Throughput + collectiveWeight;
        var latency = (int)Math.Floor((n * ratio.Latency / denominator) + epsilon);
        var throughput = (int)Math.Floor((n * ratio.Throughput / denominator) + epsilon);
        var collective = (int)Math.Floor((n * collectiveWeight / denominator) + epsilon);
        var remainder = n - latency - throughput - collective;
        if (ratio.Latency > 0)
        {
            latency += remainder;
        }
        else if (ratio.Throughput > 0)
        {
            throughput += remainder;
        }
        else
        {
            collective += remainder;
        }

        var tot = (int)Math.Floor((collective * totFraction) + epsilon);
        return new MixCounts(latency, throughput, tot, collective - tot);
    }

    /// <summary>Latency, throughput and tree-of-thought arrivals in that order (the artifact's main client).</summary>
    public List<ArrivalKind> MainKinds()
    {
        var kinds = new List<ArrivalKind>(Latency + Throughput + TreeOfThought);
        kinds.AddRange(Enumerable.Repeat(ArrivalKind.Latency, Latency));
        kinds.AddRange(Enumerable.Repeat(ArrivalKind.Throughput, Throughput));
        kinds.AddRange(Enumerable.Repeat(ArrivalKind.TreeOfThought, TreeOfThought));
        return kinds;
    }
}
