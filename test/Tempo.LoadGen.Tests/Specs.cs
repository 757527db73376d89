using Tempo.Core;
using Tempo.Workloads;

namespace Tempo.LoadGen.Tests;

/// <summary>Small hand-made workloads for the tests.</summary>
internal static class Specs
{
    public static readonly Slo Loose = new(10, 5, 60);

    public static RequestSpec Latency(long id, double arrival, int output, int prompt = 8, Slo? slo = null) => new()
    {
        Id = id,
        ArrivalS = arrival,
        Class = RequestClass.Latency,
        Slo = slo ?? Loose,
        PromptTokens = prompt,
        OutputTokens = output,
    };

    public static RequestSpec Throughput(long id, double arrival, int output, int prompt = 8) => new()
    {
        Id = id,
        ArrivalS = arrival,
        Class = RequestClass.Throughput,
        Slo = Loose,
        PromptTokens = prompt,
        OutputTokens = output,
    };

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

    public static Workload Of(params RequestSpec[] specs) => new("test", specs);

    public static BenchOptions Options(Uri url) => new()
    {
        BaseUrl = ServerUrl.Parse(url.ToString()),
        Timeout = TimeSpan.FromSeconds(10),
    };
}
