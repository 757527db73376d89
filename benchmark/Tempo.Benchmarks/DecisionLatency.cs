using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Scheduling;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>
/// Per-call latency distribution (p50 / p99 / max) of scheduler decisions, which BenchmarkDotNet's summary
/// columns do not give: each call is timed on its own with the high-resolution timestamp.
/// </summary>
internal static class DecisionLatency
{
    /// <summary>Policies with a periodic re-plan distinct from their normal step (the others plan the same way every call).</summary>
    private static readonly string[] Replanning = ["jitserve", "jitserve-oracle"];

    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Prints the tables; <paramref name="only"/> (policy names) restricts the decision tables to those policies.</summary>
    public static void Run(TextWriter output, IReadOnlyCollection<string>? only = null)
    {
        bool Wanted(string policy) => only is not { Count: > 0 } || only.Contains(policy);
        output.WriteLine("| decision | policy | live requests | running / planned | calls | p50 µs | p99 µs | max µs | alloc B/call |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var normal = TempoOptions.Default with { ReplanInterval = int.MaxValue };
        var everyCall = TempoOptions.Default with { ReplanInterval = 1 };
        foreach (var live in new[] { 100, 1_000, 2_000, 10_000 })
        {
            foreach (var info in PolicyRegistry.All.Where(i => Wanted(i.Name)))
            {
                Measure(output, "normal step", info.Name, live, LiveEngine.Create(info.Name, live, normal));
            }

            // With the batch full most policies never look at the waiting queue; a step with free slots has to
            // rank it. An engine that has not stepped yet has every slot free: the admission path's worst case.
            foreach (var info in PolicyRegistry.All.Where(i => Wanted(i.Name)))
            {
                Measure(output, "admission step", info.Name, live, LiveEngine.Create(info.Name, live, normal, warmSteps: 0));
            }

            foreach (var policy in Replanning.Where(Wanted))
            {
                Measure(output, "re-plan", policy, live, LiveEngine.Create(policy, live, everyCall));
            }
        }

        MeasurePrediction(output);
        output.WriteLine();
        MeasureKv(output);
    }

    /// <summary>
    /// KV block manager operations, one call (through a delegate) per sample. They take nanoseconds, close to the
    /// cost of reading the timestamp twice, so the first row times an empty delegate call: the floor every other
    /// row includes.
    /// </summary>
    private static void MeasureKv(TextWriter output)
    {
        output.WriteLine("| kv operation | context tokens | blocks | calls | p50 ns | p99 ns | max ns | alloc B/call |");
        output.WriteLine("|---|---|---|---|---|---|---|---|");
        var floor = 0;
        MeasureNs(output, "timer floor (empty call)", 0, 0, () => floor++);
        foreach (var context in new[] { 512, 4_096 })
        {
            var ops = new KvOperations(context);
            MeasureNs(output, "allocate + free", context, ops.BlocksPerRequest, () => ops.AllocateAndFree());
            MeasureNs(output, "extend by one token", context, ops.BlocksPerRequest, () => ops.Extend());
            MeasureNs(output, "swap out + swap in", context, ops.BlocksPerRequest, () => ops.SwapOutAndIn());
            MeasureNs(output, $"plan {KvOperations.BatchSize}-sequence decode step", context, ops.BlocksPerRequest, () => ops.PlanDecodeBatch());
        }
    }

    private static void MeasureNs<T>(TextWriter output, string operation, int context, int blocks, Func<T> call)
    {
        const int calls = 100_000;
        var warmStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 300)
        {
            call();
        }

        var samples = new double[calls];
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            samples[i] = ElapsedNs(start);
        }

        var bytesPerCall = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)calls;
        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {operation} | {context:N0} | {blocks} | {calls:N0} | {Percentile.OfSorted(samples, 0.5):0} | {Percentile.OfSorted(samples, 0.99):0} | {samples[^1]:0} | {bytesPerCall:0} |"));
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
            samples[i] = ElapsedNs(start) / 1_000;
        }

        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| qrf prediction | qrf (100 trees, {qrf.TrainingRows} rows) | - | - | {samples.Length} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} | - |"));
        GC.KeepAlive(sink);
    }

    /// <summary>
    /// Nanoseconds since <paramref name="start"/> from the raw timestamps: <see cref="Stopwatch.GetElapsedTime(long)"/>
    /// returns a TimeSpan, which rounds down to 100 ns and would hide every KV operation.
    /// </summary>
    private static double ElapsedNs(long start) => (Stopwatch.GetTimestamp() - start) * NsPerTick;

    private static void Measure(TextWriter output, string kind, string policy, int live, LiveEngine engine)
    {
        const int warmup = 200;
        const int maxCalls = 3_000;
        const int minCalls = 200;

        // Tiered JIT promotes a method only after ~100 ms without new tier-0 work; 200 calls of a few µs end well
        // before that, so the samples would mostly time tier-0 code. Warm up for at least half a second; a decision
        // of tens of milliseconds stops after two seconds (its loops are promoted on the stack by then).
        var warmStart = Stopwatch.GetTimestamp();
        for (var i = 0; i < 10 || WarmMs() < 500 || (i < warmup && WarmMs() < 2_000); i++)
        {
            engine.Decide();
        }

        // At most 3,000 calls or ten seconds, whichever comes first (but 200 calls at least), so a slow decision
        // does not hold the whole run for minutes; the calls column says how many were timed.
        var samples = new double[maxCalls];
        var calls = 0;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var sampleStart = Stopwatch.GetTimestamp();
        while (calls < maxCalls && (calls < minCalls || Stopwatch.GetElapsedTime(sampleStart).TotalSeconds < 10))
        {
            var start = Stopwatch.GetTimestamp();
            engine.Decide();
            samples[calls++] = ElapsedNs(start) / 1_000;
        }

        var bytesPerCall = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)calls;
        samples = samples[..calls];
        Array.Sort(samples);

        // What the fixture looks like to the policy: a running set below the batch cap means free slots, and
        // then even a normal step ranks the waiting queue.
        var planned = engine.Decide().Scheduled.Count;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {kind} | {policy} | {live:N0} | {engine.View.Running.Count} / {planned} | {calls} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} | {bytesPerCall:0} |"));

        double WarmMs() => Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds;
    }
}
