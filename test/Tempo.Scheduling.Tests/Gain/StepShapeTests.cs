using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Gain.SelectEdf;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Gain;

/// <summary>How `tempo` shapes a step: prefill chunks that keep running streams on pace, prefill tokens by urgency.</summary>
public class StepShapeTests
{
    [Fact]
    public void PrefillTokenCost_IsLearnedAsTheRatioOfMeans_FromThePriorOnward()
    {
        var model = new StepTimeModel(new StepCostPrior(0.01, 0.05), tokenBudget: 200);
        Assert.Equal(0.0002, model.PrefillTokenS, 12);

        // Steps of 10 and 200 prefill tokens at 1 ms a token over a 10 ms decode step.
        for (var i = 0; i < 400; i++)
        {
            model.Observe(0.01, prefillTokens: 0);
            var tokens = i % 2 == 0 ? 10 : 200;
            model.Observe(0.01 + (0.001 * tokens), tokens);
        }

        Assert.InRange(model.PrefillTokenS, 0.00095, 0.00105);
        Assert.Equal(0, new StepTimeModel(0.02).PrefillTokenS);
    }

    [Fact]
    public void RelativeSpread_IsHowFarStepsStrayFromTheirPrediction()
    {
        var exact = new StepTimeModel(new StepCostPrior(0.01, 0.05), tokenBudget: 40);
        var noisy = new StepTimeModel(new StepCostPrior(0.01, 0.05), tokenBudget: 40);

        for (var i = 0; i < 500; i++)
        {
            exact.Observe(0.01, prefillTokens: 0);
            noisy.Observe(i % 2 == 0 ? 0.008 : 0.012, prefillTokens: 0);
        }

        Assert.InRange(exact.RelativeSpread, 0, 0.001);
        Assert.InRange(noisy.RelativeSpread, 0.18, 0.22);
    }

    [Fact]
    public void GapAwareChunks_KeepAStreamOnPaceWhileALongPromptIsPrefilled()
    {
        // A 256-token chunk takes 266 ms here, five times the stream's 50 ms token gap.
        var stream = TempoTestKit.Latency(1, prompt: 8, output: 60, ttft: 1, tbt: 0.05);
        var longPrompt = TempoTestKit.Throughput(2, prompt: 2000, output: 5, deadline: 100, arrival: 0.2);

        var on = Run(SelectEdfOptions.Default, stream, longPrompt);
        var off = Run(SelectEdfOptions.Default with { GapAwareChunks = false }, stream, longPrompt);

        Assert.True(ServiceGain.LatencyMet(on[1]), $"the stream's longest gap was {MaxGap(on[1]):0.000} s");
        Assert.Equal(FinishReason.Length, on[2].Reason);
        Assert.False(ServiceGain.LatencyMet(off[1]), "without the cap one chunk step should break a gap; the test would prove nothing");
    }

    [Fact]
    public void PrefillsInOrder_AnUrgentStreamStartsBeforeALongPromptThatBeganFirst()
    {
        // One 1,000-token prompt takes 16 steps of 64 tokens; the stream arriving during it needs its first token in 0.1 s.
        var longPrompt = TempoTestKit.Throughput(1, prompt: 1000, output: 5, deadline: 100);
        var stream = TempoTestKit.Latency(2, prompt: 8, output: 10, arrival: 0.05, ttft: 0.1, tbt: 0.5);
        var config = new EngineConfig { MaxBatch = 4, TokenBudget = 64, GpuBlocks = 512, CpuBlocks = 64 };

        var on = new SimHarness(Scheduler(SelectEdfOptions.Default), config).Run([longPrompt, stream]);
        var off = new SimHarness(Scheduler(SelectEdfOptions.Default with { PrefillsInOrder = false }), config).Run([longPrompt, stream]);

        Assert.True(on.Records.Single(r => r.Spec.Id == 2).TtftS <= 0.1);
        Assert.True(off.Records.Single(r => r.Spec.Id == 2).TtftS > 0.1, "in vLLM's order the stream waits for the long prompt");
        Assert.All(on.Records, r => Assert.Equal(FinishReason.Length, r.Reason));
    }

    private static SelectEdfScheduler Scheduler(SelectEdfOptions options) =>
        new("tempo", options with { InitialStepS = 0.01 }, new OracleLengthPredictor());

    private static Dictionary<long, RequestRecord> Run(SelectEdfOptions options, params RequestSpec[] specs)
    {
        var clock = new VirtualClock();
        var config = new EngineConfig { MaxBatch = 4, TokenBudget = 256, GpuBlocks = 512, CpuBlocks = 64 };
        var engine = new EngineCore(config, Scheduler(options), new PrefillPricedExecutor(clock), clock);
        var records = new Dictionary<long, RequestRecord>();
        engine.RequestEnded += (r, record) => records[r.Id] = record;
        var pending = new Queue<RequestSpec>(specs.OrderBy(s => s.ArrivalS));
        while (pending.Count > 0 || engine.HasWork)
        {
            if (!engine.HasWork)
            {
                clock.AdvanceTo(pending.Peek().ArrivalS);
            }

            while (pending.Count > 0 && pending.Peek().ArrivalS <= clock.NowS)
            {
                engine.Submit(pending.Dequeue());
            }

            engine.Step();
            engine.CheckInvariants();
        }

        return records;
    }

    private static double MaxGap(RequestRecord r) => r.TbtGapsS().DefaultIfEmpty().Max();

    /// <summary>10 ms a step plus 1 ms a prefill token.</summary>
    private sealed class PrefillPricedExecutor(VirtualClock clock) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            var duration = 0.01 + (0.001 * batch.Entries.Where(e => !e.IsDecode).Sum(e => e.Tokens));
            clock.Advance(duration);
            return new StepResult(duration);
        }
    }
}
