using BenchmarkDotNet.Attributes;

using Tempo.Engine;
using Tempo.Scheduling.Gain.JitServe;

namespace Tempo.Benchmarks;

/// <summary>
/// Decision time of every registered policy at 100 / 1,000 / 10,000 live requests: the normal step with the
/// batch full, and the admission step with every slot free (the waiting queue has to be ranked).
/// </summary>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private LiveEngine _full = null!;
    private LiveEngine _empty = null!;

    /// <summary>Registered policy under test.</summary>
    [Params("vllm", "sarathi", "priority", "edf", "sjf", "oracle-sjf", "autellix", "vtc", "tempo", "tempo-oracle", "jitserve", "jitserve-oracle", "slos-serve")]
    public string Policy { get; set; } = "sarathi";

    /// <summary>Live requests.</summary>
    [Params(100, 1_000, 10_000)]
    public int Live { get; set; }

    /// <summary>Builds the engines (Tempo: re-plans disabled, so every call is a normal step).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var normal = TempoOptions.Default with { ReplanInterval = int.MaxValue };
        _full = LiveEngine.Create(Policy, Live, normal);
        _empty = LiveEngine.Create(Policy, Live, normal, warmSteps: 0);
    }

    /// <summary>One decision with the batch full.</summary>
    [Benchmark]
    public StepPlan NormalStep() => _full.Decide();

    /// <summary>One decision with every slot free.</summary>
    [Benchmark]
    public StepPlan AdmissionStep() => _empty.Decide();
}

/// <summary>The periodic re-plan (every call a re-plan) of the re-planning policies at 100 / 1,000 / 2,000 / 10,000 live requests.</summary>
[MemoryDiagnoser]
public class TempoReplanBenchmarks
{
    private LiveEngine _engine = null!;

    /// <summary>Re-planning policy under test.</summary>
    [Params("jitserve", "jitserve-oracle")]
    public string Policy { get; set; } = "jitserve";

    /// <summary>Live requests.</summary>
    [Params(100, 1_000, 2_000, 10_000)]
    public int Live { get; set; }

    /// <summary>Builds the engine with R = 1.</summary>
    [GlobalSetup]
    public void Setup() => _engine = LiveEngine.Create(Policy, Live, TempoOptions.Default with { ReplanInterval = 1 });

    /// <summary>One re-plan.</summary>
    [Benchmark]
    public StepPlan Replan() => _engine.Decide();
}
