using Tempo.Core;
using Tempo.LoadGen;
using Tempo.Workloads;

namespace Tempo.TestSupport;

/// <summary>Small hand-made workloads for the tests.</summary>
public static class Specs
{
    /// <summary>An SLO every test server meets: TTFT 10 s, TBT 5 s, deadline 60 s.</summary>
    public static readonly Slo Loose = new(10, 5, 60);

    /// <summary>A streaming chat request with the loose SLO (or <paramref name="slo"/>).</summary>
    public static RequestSpec Latency(long id, double arrival, int output, int prompt = 8, Slo? slo = null) => new()
    {
        Id = id,
        ArrivalS = arrival,
        Class = RequestClass.Latency,
        Slo = slo ?? Loose,
        PromptTokens = prompt,
        OutputTokens = output,
    };

    /// <summary>A deadline-only request with the loose SLO.</summary>
    public static RequestSpec Throughput(long id, double arrival, int output, int prompt = 8) => new()
    {
        Id = id,
        ArrivalS = arrival,
        Class = RequestClass.Throughput,
        Slo = Loose,
        PromptTokens = prompt,
        OutputTokens = output,
    };

    /// <summary>One call of stage <c>stage</c> of collective job <c>job</c>.</summary>
    public static RequestSpec Call(long id, double jobArrival, long job, int stage, int stages, int output, int prompt = 8) => new()
    {
        Id = id,
        ArrivalS = jobArrival,
        Class = RequestClass.Collective,
        Slo = Loose,
        PromptTokens = prompt,
        OutputTokens = output,
        JobId = job,
        Stage = stage,
        StageCount = stages,
        App = "tot",
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
