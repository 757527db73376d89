using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Scheduling.Prediction;
using Tempo.Scheduling.Tempo;
using Tempo.Simulation.Workloads;

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

        MeasurePrediction(output);
    }

    /// <summary>QRF prediction at admission (features, forest walk, pooled distribution), default 100 trees.</summary>
    private static void MeasurePrediction(TextWriter output)
    {
        var train = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Seed = 1 }).Requests;
        var qrf = QrfLengthPredictor.Train(train, new QrfOptions { Seed = 1 });
        var specs = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 1000, Seed = 2 }).Requests;
        var sink = 0;
        for (var i = 0; i < 500; i++)
        {
            sink += qrf.Predict(specs[i % specs.Count]).BoundAfter(0);
        }

        var samples = new double[3_000];
        for (var i = 0; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            sink += qrf.Predict(specs[i % specs.Count]).BoundAfter(0);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| qrf prediction | qrf (100 trees, {qrf.TrainingRows} rows) | - | {samples.Length} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} |"));
        GC.KeepAlive(sink);
    }

    private static void Measure(TextWriter output, string kind, string policy, int live, LiveEngine engine)
    {
        const int warmup = 200;
        const int calls = 3_000;

        // Tiered JIT promotes a method only after ~100 ms without new tier-0 work; 200 calls of a few µs end well
        // before that, so the samples would mostly time tier-0 code. Warm up for at least half a second.
        var warmStart = Stopwatch.GetTimestamp();
        for (var i = 0; i < warmup || Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 500; i++)
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
