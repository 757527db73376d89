using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Scheduling.Tempo;

namespace Tempo.Benchmarks;

/// <summary>
/// Per-call latency distribution (p50 / p99 / max) of scheduler decisions, which BenchmarkDotNet's summary
/// columns do not give: each call is timed on its own with the high-resolution timestamp.
/// </summary>
internal static class DecisionLatency
{
    public static void Run(TextWriter output)
    {
        output.WriteLine("| decision | policy | live requests | calls | p50 µs | p99 µs | max µs |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        var normal = TempoOptions.Default with { ReplanInterval = int.MaxValue };
        foreach (var live in new[] { 100, 1_000, 2_000, 10_000 })
        {
            foreach (var policy in new[] { "vllm", "sarathi", "priority", "edf", "sjf", "autellix", "vtc", "tempo", "slos-serve" })
            {
                Measure(output, "normal step", policy, live, LiveEngine.Create(policy, live, normal));
            }

            Measure(output, "re-plan", "tempo", live, LiveEngine.Create("tempo", live, TempoOptions.Default with { ReplanInterval = 1 }));
        }
    }

    private static void Measure(TextWriter output, string kind, string policy, int live, LiveEngine engine)
    {
        const int warmup = 200;
        const int calls = 3_000;
        for (var i = 0; i < warmup; i++)
        {
            engine.Decide();
        }

        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            engine.Decide();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {kind} | {policy} | {live:N0} | {calls} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} |"));
    }
}
