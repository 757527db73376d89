using CsCheck;

using Tempo.Core;

namespace Tempo.Engine.Tests;

/// <summary>
/// Engine invariants under random load, with a tiny decode-first scheduler that preempts by swap. Small KV caches
/// force preemption; a tiny CPU swap space forces the engine's swap-to-recompute fallback; random client aborts and
/// over-long requests exercise every way a request can end.
/// </summary>
public class EngineInvariantProperties
{
    private static readonly Gen<Load> LoadGen =
        Gen.Select(
            Gen.Select(Gen.Int[1, 8], Gen.Int[60, 160], Gen.Int[0, 24], Gen.Int[32, 512], (batch, gpu, cpu, tokens) => (batch, gpu, cpu, tokens)),
            Gen.Select(Gen.Int[1, 600], Gen.Int[1, 300], Gen.Double[0, 2], Gen.Int[0, 99], (p, o, a, salt) => (p, o, a, salt)).Array[1, 30],
            (cfg, reqs) => new Load(
                new EngineConfig { MaxBatch = cfg.batch, GpuBlocks = cfg.gpu, CpuBlocks = cfg.cpu, TokenBudget = cfg.tokens, MaxModelLen = 850 },
                reqs.Select((r, i) => new Item(
                    Specs.Make(i + 1, r.p, r.o, (RequestClass)(r.salt % 3), Math.Round(r.a, 3), new Slo(1, 0.05, 5)),
                    r.salt % 10 == 0 ? Math.Round(r.a + (r.salt / 100.0), 3) : null)).ToArray()));

    [Fact]
    public void Step_RandomLoad_KeepsInvariantsEndsEachRequestOnceAndFreesAllKv()
    {
        LoadGen.Sample(load =>
        {
            var run = Run(load);

            Assert.Equal(load.Items.Select(i => i.Spec.Id).Order(), run.Ends.Keys.Order());
            Assert.All(run.Ends.Values, n => Assert.Equal(1, n));
            Assert.Equal(run.Engine.Kv.TotalGpuBlocks, run.Engine.Kv.FreeGpuBlocks);
            Assert.Equal(run.Engine.Kv.TotalCpuBlocks, run.Engine.Kv.FreeCpuBlocks);
            foreach (var rec in run.Records)
            {
                Assert.True(Enum.IsDefined(rec.Reason));
                if (rec.Completed)
                {
                    Assert.Equal(rec.Spec.OutputTokens, rec.TokenTimesS.Count);
                }
                else
                {
                    Assert.False(string.IsNullOrEmpty(rec.Detail));
                }

                Assert.True(rec.TbtGapsS().All(g => g > 0), "token times must strictly increase");
            }
        }, iter: 40);
    }

    [Fact]
    public void Step_SameLoadTwice_GivesIdenticalRecords()
    {
        LoadGen.Sample(load =>
        {
            var a = Run(load).Records;
            var b = Run(load).Records;

            Assert.Equal(a.Count, b.Count);
            for (var i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i].Spec.Id, b[i].Spec.Id);
                Assert.Equal(a[i].Reason, b[i].Reason);
                Assert.Equal(BitConverter.DoubleToInt64Bits(a[i].FinishS), BitConverter.DoubleToInt64Bits(b[i].FinishS));
                Assert.Equal(a[i].TokenTimesS.Select(BitConverter.DoubleToInt64Bits), b[i].TokenTimesS.Select(BitConverter.DoubleToInt64Bits));
            }
        }, iter: 20);
    }

    [Fact]
    public void Step_TinySwapSpace_FallsBackToRecompute()
    {
        // Deterministic witness that the generator's regime reaches both preemption modes.
        var load = new Load(
            new EngineConfig { MaxBatch = 4, GpuBlocks = 60, CpuBlocks = 8, TokenBudget = 256, MaxModelLen = 850 },
            [.. Enumerable.Range(1, 8).Select(i => new Item(
                Specs.Make(i, prompt: 200, output: 200),
                null))]);

        var run = Run(load);

        Assert.True(run.Engine.Stats.SwapOuts > 0);
        Assert.True(run.Engine.Stats.Recomputes > 0);
        Assert.All(run.Records, r => Assert.True(r.Completed));
    }

    private static RunResult Run(Load load)
    {
        var clock = new VirtualClock();
        var executor = new CheckingExecutor(clock, load.Config);
        var engine = new EngineCore(load.Config, new SwapGreedyScheduler(), executor, clock);
        var result = new RunResult(engine);
        engine.RequestEnded += (_, rec) =>
        {
            result.Records.Add(rec);
            result.Ends[rec.Spec.Id] = result.Ends.GetValueOrDefault(rec.Spec.Id) + 1;
        };

        var pending = new Queue<Item>(load.Items.OrderBy(i => i.Spec.ArrivalS).ThenBy(i => i.Spec.Id));
        var live = new List<(EngineRequest Request, double AbortS)>();
        for (var step = 0; ; step++)
        {
            Assert.True(step < 100_000, "the engine made no progress");
            while (pending.TryPeek(out var next) && next.Spec.ArrivalS <= clock.NowS)
            {
                pending.Dequeue();
                var r = engine.Submit(next.Spec);
                if (next.AbortS is { } abortS)
                {
                    live.Add((r, abortS));
                }
            }

            foreach (var (r, abortS) in live.Where(x => x.AbortS <= clock.NowS).ToList())
            {
                engine.Abort(r, "client went away");
                live.Remove((r, abortS));
            }

            if (!engine.HasWork)
            {
                if (!pending.TryPeek(out var next))
                {
                    return result;
                }

                clock.AdvanceTo(next.Spec.ArrivalS);
                continue;
            }

            engine.Step();
            engine.CheckInvariants();
            Assert.InRange(engine.Kv.FreeGpuBlocks, 0, engine.Kv.TotalGpuBlocks);
            Assert.InRange(engine.Kv.FreeCpuBlocks, 0, engine.Kv.TotalCpuBlocks);
        }
    }

    internal sealed record Item(RequestSpec Spec, double? AbortS);

    internal sealed record Load(EngineConfig Config, Item[] Items);

    private sealed class RunResult(EngineCore engine)
    {
        public EngineCore Engine { get; } = engine;

        public List<RequestRecord> Records { get; } = [];

        public Dictionary<long, int> Ends { get; } = [];
    }

    /// <summary>Advances the clock by a length-dependent step time and checks each batch against the budgets.</summary>
    private sealed class CheckingExecutor(VirtualClock clock, EngineConfig config) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            Assert.True(batch.Entries.Sum(e => e.Tokens) <= config.TokenBudget, "step exceeds the token budget");
            Assert.True(batch.Entries.Count <= config.MaxBatch, "step exceeds the batch cap");
            Assert.Equal(batch.Entries.Count, batch.Entries.Select(e => e.Request.Id).Distinct().Count());
            Assert.All(batch.Entries, e => Assert.Equal(RequestState.Running, e.Request.State));
            var duration = 0.005 + (batch.Entries.Sum(e => e.Tokens) * 1e-5);
            clock.Advance(duration);
            return new(duration);
        }
    }

    /// <summary>Decode-first, FCFS; preempts the newest runner by swap when KV runs out; swaps in before admitting.</summary>
    private sealed class SwapGreedyScheduler : IScheduler
    {
        public string Name => "swap-greedy";

        public StepPlan Plan(SchedulerView view)
        {
            var budget = view.NewBudget();
            var running = view.Running.OrderBy(r => r.IsPrefill).ThenBy(r => r.Sequence).ToList();
            var preempted = false;
            foreach (var r in running)
            {
                var n = budget.MaxTokensFor(r);
                if (n == 0 || budget.Contains(r))
                {
                    continue;
                }

                while (budget.BlocksNeeded(r, n) > budget.FreeGpuBlocks)
                {
                    var victim = running.LastOrDefault(v => !budget.Contains(v) && v != r) ?? r;
                    budget.Preempt(victim, PreemptionMode.Swap);
                    preempted = true;
                    if (victim == r)
                    {
                        break;
                    }
                }

                budget.TrySchedule(r, n);
            }

            foreach (var r in preempted ? [] : view.Swapped.Concat(view.Waiting))
            {
                var n = budget.MaxTokensFor(r);
                if (n == 0 || !budget.TrySchedule(r, n))
                {
                    break;
                }
            }

            return budget.Build();
        }
    }
}
