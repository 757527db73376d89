using Tempo.Core;
using Tempo.Engine;
using Tempo.LoadGen;
using Tempo.Workloads;

namespace Tempo.TestSupport;

/// <summary>
/// Small hand-made requests, engines and workloads for the tests. Every request a test builds comes from
/// <see cref="Make"/>, so a new field of <see cref="RequestSpec"/> is given a default in one place.
/// </summary>
public static class Specs
{
    /// <summary>The SLO <see cref="Make"/> gives when none is named: TTFT 1 s, TBT 0.1 s, deadline 10 s.</summary>
    public static readonly Slo Default = new(1, 0.1, 10);

    /// <summary>An SLO every test server meets: TTFT 10 s, TBT 5 s, deadline 60 s.</summary>
    public static readonly Slo Loose = new(10, 5, 60);

    /// <summary>
    /// A request. A collective request belongs to job <paramref name="job"/>, or to a job of its own id when none is
    /// named; any other class belongs to no job.
    /// </summary>
    public static RequestSpec Make(
        long id,
        int prompt = 10,
        int output = 3,
        RequestClass cls = RequestClass.Throughput,
        double arrival = 0,
        Slo? slo = null,
        int priority = 0,
        int client = 0,
        long? job = null,
        int stage = 0,
        int stageCount = 1,
        string? app = null,
        string? text = null) => new()
        {
            Id = id,
            ArrivalS = arrival,
            Class = cls,
            Slo = slo ?? Default,
            PromptTokens = prompt,
            OutputTokens = output,
            Priority = priority,
            ClientId = client,
            JobId = cls == RequestClass.Collective ? job ?? id : null,
            Stage = stage,
            StageCount = stageCount,
            App = app,
            PromptText = text,
        };

    /// <summary>A streaming chat request with the loose SLO (or <paramref name="slo"/>).</summary>
    public static RequestSpec Latency(long id, double arrival, int output, int prompt = 8, Slo? slo = null) =>
        Make(id, prompt, output, RequestClass.Latency, arrival, slo ?? Loose);

    /// <summary>A deadline-only request with the loose SLO.</summary>
    public static RequestSpec Throughput(long id, double arrival, int output, int prompt = 8) =>
        Make(id, prompt, output, RequestClass.Throughput, arrival, Loose);

    /// <summary>One call of stage <c>stage</c> of collective job <c>job</c>.</summary>
    public static RequestSpec Call(long id, double jobArrival, long job, int stage, int stages, int output, int prompt = 8) =>
        Make(id, prompt, output, RequestClass.Collective, jobArrival, Loose, job: job, stage: stage, stageCount: stages, app: "tot");

    /// <summary>A test engine config: one sequence per step unless told otherwise, ample KV, no watermark.</summary>
    public static EngineConfig Engine(int maxBatch = 1, int tokenBudget = 512, int gpuBlocks = 1024, int cpuBlocks = 64) => new()
    {
        MaxBatch = maxBatch,
        TokenBudget = tokenBudget,
        GpuBlocks = gpuBlocks,
        CpuBlocks = cpuBlocks,
        WatermarkFraction = 0,
        MaxModelLen = 2048,
    };

    /// <summary>A workload named "test" of these requests.</summary>
    public static Workload Of(params RequestSpec[] specs) => new("test", specs);

    /// <summary>Bench options against <paramref name="url"/> with a 10 s timeout.</summary>
    public static BenchOptions Options(Uri url) => new()
    {
        BaseUrl = ServerUrl.Parse(url.ToString()),
        Timeout = TimeSpan.FromSeconds(10),
    };
}
