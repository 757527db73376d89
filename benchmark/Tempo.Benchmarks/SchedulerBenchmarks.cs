using BenchmarkDotNet.Attributes;

using Tempo.Engine;
using Tempo.Scheduling.Tempo;

namespace Tempo.Benchmarks;

/// <summary>Decision time of each policy's normal step at 100 / 1,000 / 10,000 live requests.</summary>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private LiveEngine _engine = null!;

    /// <summary>Registered policy under test.</summary>
    [Params("vllm", "sarathi", "priority", "edf", "sjf", "autellix", "vtc", "tempo", "slos-serve")]
    public string Policy { get; set; } = "sarathi";

    /// <summary>Live requests.</summary>
    [Params(100, 1_000, 10_000)]
    public int Live { get; set; }

    /// <summary>Builds the engine (Tempo: re-plans disabled, so every call is a normal step).</summary>
    [GlobalSetup]
    public void Setup() => _engine = LiveEngine.Create(Policy, Live, TempoOptions.Default with { ReplanInterval = int.MaxValue });

    /// <summary>One decision.</summary>
    [Benchmark]
    public StepPlan NormalStep() => _engine.Decide();
}

/// <summary>Tempo's periodic re-plan (every call a re-plan) at 100 / 1,000 / 2,000 / 10,000 live requests.</summary>
[MemoryDiagnoser]
public class TempoReplanBenchmarks
{
    private LiveEngine _engine = null!;

    /// <summary>Live requests.</summary>
    [Params(100, 1_000, 2_000, 10_000)]
    public int Live { get; set; }

    /// <summary>Builds the engine with R = 1.</summary>
    [GlobalSetup]
    public void Setup() => _engine = LiveEngine.Create("tempo", Live, TempoOptions.Default with { ReplanInterval = 1 });

    /// <summary>One re-plan.</summary>
    [Benchmark]
    public StepPlan Replan() => _engine.Decide();
}
