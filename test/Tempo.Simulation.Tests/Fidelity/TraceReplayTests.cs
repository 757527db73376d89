using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Simulation.Fidelity;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Tests.Fidelity;

public class TraceReplayTests
{
    private static readonly EngineConfig Engine = new() { MaxBatch = 8, TokenBudget = 256, GpuBlocks = 600, CpuBlocks = 200, MaxModelLen = 4096 };

    [Theory]
    [InlineData("tempo")]
    [InlineData("jitserve")]
    [InlineData("sarathi")]
    [InlineData("edf")]
    public void Replay_OfTheSamePolicy_PlansEveryStepAsRecorded_AndReproducesEveryEnd(string policy)
    {
        var trace = Record(policy, seed: 3);

        var result = TraceReplay.Run(trace, Create(policy));

        Assert.Null(result.First);
        Assert.True(result.Steps > 100, $"only {result.Steps} steps");
        Assert.Equal(result.Steps, result.StepsMatched);
        Assert.Empty(result.EndMismatches);
        Assert.Contains(trace.Events, e => e is TraceEnd { Reason: FinishReason.Stop });
        Assert.Contains(trace.Events, e => e is TraceEnd { Reason: FinishReason.Aborted });
    }

    [Theory]
    [InlineData("tempo")]
    [InlineData("edf")]
    public void Replay_OfARunOnAClockThatMovesWhileTheEngineWorks_StillPlansEveryStepAsRecorded(string policy)
    {
        // A wall clock moves between any two reads: while the policy plans, and between a step's end and the engine
        // stamping its tokens. The trace keeps the instants that decided (plan_s, end_s), so the replay matches anyway.
        // The tick is coarse (3 ms a read) so that a policy reading a moving clock while it plans would decide otherwise.
        var trace = RecordTo(new StringWriter(), policy, seed: 4, noise: 0.3, gapS: 1e-4, tickS: 3e-3).Trace;

        var result = TraceReplay.Run(trace, Create(policy));

        Assert.Null(result.First);
        Assert.Equal(result.Steps, result.StepsMatched);
        Assert.Empty(result.EndMismatches);
    }

    [Fact]
    public void Replay_WithAnotherPolicy_FindsTheFirstStepThatDiffers()
    {
        var trace = Record("tempo", seed: 3);

        var result = TraceReplay.Run(trace, Create("edf"));

        var d = Assert.IsType<TraceDivergence>(result.First);
        Assert.Equal(result.StepsMatched, d.StepIndex);
        Assert.True(d.StepIndex < result.Steps);
        var real = trace.Events.OfType<TraceStep>().ElementAt(d.StepIndex).Step;
        Assert.Equal(real.PlanS, d.PlanS);
        Assert.NotEqual(d.Real.OrderBy(w => w.Id), d.Replayed.OrderBy(w => w.Id));
        Assert.NotEmpty(d.Live);
        Assert.Contains("first divergence: step " + d.StepIndex, result.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_OfAnEditedTrace_StopsAtTheEditedStep()
    {
        var trace = Record("sarathi", seed: 5);
        var steps = trace.Events.Select((e, i) => (e, i)).Where(x => x.e is TraceStep { Step.Work.Count: > 1 }).ToList();
        var (edited, at) = steps[steps.Count / 2];
        var step = ((TraceStep)edited).Step;

        // The real engine "ran" one sequence fewer than the policy would have.
        var events = trace.Events.ToList();
        events[at] = new TraceStep(step with { Work = step.Work.Skip(1).ToList(), RequestIds = step.RequestIds!.Skip(1).ToList() });
        var result = TraceReplay.Run(trace with { Events = events }, Create("sarathi"));

        var d = Assert.IsType<TraceDivergence>(result.First);
        Assert.Equal(trace.Events.Take(at).Count(e => e is TraceStep), d.StepIndex);
        Assert.Contains(step.RequestIds![0], d.Replayed.Select(w => w.Id));
        Assert.DoesNotContain(step.RequestIds![0], d.Real.Select(w => w.Id));
    }

    [Fact]
    public void Trace_ReadsBackWhatTheRecordingEngineWrote()
    {
        var writer = new StringWriter();
        var (trace, submitted) = RecordTo(writer, "edf", seed: 7);

        var read = StepTrace.Read(new StringReader(writer.ToString()));

        Assert.Equal(Engine, read.Engine);
        Assert.Equal("edf", read.Policy);
        Assert.Equal(submitted, read.Events.OfType<TraceArrival>().Select(a => a.Spec).ToList());
        Assert.Equal(trace.Events.Count, read.Events.Count);

        // The step log reader still sees only the forward passes.
        var forward = StepLog.Read(new StringReader(writer.ToString()));
        Assert.Equal(read.Events.OfType<TraceStep>().Count(s => s.Step.Work.Count > 0), forward.Count);
    }

    [Theory]
    [InlineData("tempo")]
    [InlineData("sarathi")]
    public void Simulate_WithTheStepCostsTheRunHad_ReproducesEveryRecord(string policy)
    {
        // A run whose steps took exactly what the cost model says and whose engine never paused between steps: only the
        // arrivals, early stops and the abort come from the trace, and they must land where they landed.
        var writer = new StringWriter();
        var (trace, _) = RecordTo(writer, policy, seed: 9, noise: 0, gapS: 0);
        var recorded = TraceReplay.Run(trace, Create(policy)).Records;

        var simulated = TraceReplay.Simulate(trace, Create(policy), new CostModel(CostProfile.Default));

        Assert.Equal(Describe(recorded), Describe(simulated));
        Assert.Contains(simulated, r => r.Reason == FinishReason.Stop);
        Assert.Contains(simulated, r => r.Reason == FinishReason.Aborted);
    }

    [Fact]
    public void Simulate_WithOtherStepCosts_ChangesTheTimesButKeepsTheRequestsAndTheirEnds()
    {
        var (trace, submitted) = RecordTo(new StringWriter(), "tempo", seed: 9, noise: 0, gapS: 0);
        var slower = CostProfile.Default with { Name = "slower", FixedMs = CostProfile.Default.FixedMs + 20 };

        var simulated = TraceReplay.Simulate(trace, Create("tempo"), new CostModel(slower));

        Assert.Equal(submitted.Select(s => s.Id).Order(), simulated.Select(r => r.Spec.Id).Order());
        Assert.True(simulated.Max(r => r.FinishS) > TraceReplay.Run(trace, Create("tempo")).Records.Max(r => r.FinishS));
        Assert.Equal(
            trace.Events.OfType<TraceEnd>().Count(e => e.Reason == FinishReason.Stop),
            simulated.Count(r => r.Reason == FinishReason.Stop));
    }

    private static List<string> Describe(IEnumerable<RequestRecord> records) =>
        [.. records.OrderBy(r => r.Spec.Id).Select(r => $"{r.Spec.Id} {r.Reason} {r.TokenTimesS.Count} {string.Join(',', r.TokenTimesS.Select(t => t.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}")];

    private static IScheduler Create(string policy) =>
        PolicyRegistry.Get(policy).Create(new SchedulerOptions { Engine = Engine });

    private static StepTrace Record(string policy, int seed) => RecordTo(new StringWriter(), policy, seed, noise: 0.3, gapS: 1e-4).Trace;

    /// <summary>
    /// Runs a workload as a real server would: time passes between steps, step times are noisy, the model stops some
    /// responses early and a client gives up on one request. The engine writes its trace while it runs.
    /// </summary>
    private static (StepTrace Trace, List<RequestSpec> Submitted) RecordTo(StringWriter writer, string policy, int seed, double noise = 0.3, double gapS = 1e-4, double tickS = 0)
    {
        var random = new Random(seed);
        var clock = new TickingClock(tickS);
        var model = new CostModel(CostProfile.Default);
        var noisy = new NoisyExecutor(model, clock, random, noise);
        var log = new StepLogExecutor(noisy, clock, writer);
        var engine = new EngineCore(Engine, Create(policy), log, clock);
        log.Attach(engine);
        var workload = SyntheticWorkloads.Mixed(60, rate: 6, seed: seed, maxPrompt: 600, maxOutput: 200);
        var pending = new Queue<RequestSpec>(workload.Requests.OrderBy(s => s.ArrivalS).ThenBy(s => s.Id));
        var submitted = new List<RequestSpec>();
        var live = new Dictionary<long, EngineRequest>();
        var abortAt = 2.0;
        while (pending.Count > 0 || engine.HasWork)
        {
            if (!engine.HasWork && pending.Count > 0)
            {
                clock.AdvanceTo(pending.Peek().ArrivalS);
            }

            while (pending.Count > 0 && pending.Peek().ArrivalS <= clock.NowS)
            {
                var spec = pending.Dequeue();
                submitted.Add(spec);
                live[spec.Id] = engine.Submit(spec, spec.ArrivalS);
            }

            if (clock.NowS >= abortAt && live.Values.FirstOrDefault(r => r.State == RequestState.Running) is { } victim)
            {
                engine.Abort(victim, "client went away");
                abortAt = double.PositiveInfinity;
            }

            if (engine.HasWork)
            {
                engine.Step();
                clock.Advance(random.NextDouble() * gapS);
            }
        }

        log.Dispose();
        return (StepTrace.Read(new StringReader(writer.ToString())), submitted);
    }

    /// <summary>A virtual clock that, like a wall clock, also moves by <paramref name="tickS"/> every time it is read.</summary>
    private sealed class TickingClock(double tickS) : IClock
    {
        private double _now;

        public double NowS => _now += tickS;

        public void Advance(double seconds) => _now += seconds;

        public void AdvanceTo(double timeS) => _now = Math.Max(_now, timeS);
    }

    /// <summary>Cost-model step times with ±<paramref name="noise"/> relative noise; every seventh request stops at its third token.</summary>
    private sealed class NoisyExecutor(CostModel model, TickingClock clock, Random random, double noise) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            var duration = model.StepTimeS(batch) * (1 - noise + (2 * noise * random.NextDouble()));
            clock.Advance(duration);
            var outputs = batch.Entries.Where(e => e.ProducesToken)
                .Select(e => new SequenceOutput(0, e.Request.Id % 7 == 0 && e.Request.Generated == 2))
                .ToList();
            return new StepResult(duration, outputs);
        }
    }
}
