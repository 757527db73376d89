using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Gain;

/// <summary>Small engines and request specs for Tempo tests: a fixed-duration executor on a virtual clock.</summary>
internal static class TempoTestKit
{
    public static TempoScheduler Scheduler(TempoOptions? options = null, ILengthPredictor? predictor = null, EngineConfig? config = null, TemplateLibrary? templates = null) =>
        new("tempo", config ?? new EngineConfig(), options ?? TempoOptions.Default, predictor ?? new OracleLengthPredictor(), templates ?? new TemplateLibrary());

    public static (EngineCore Engine, VirtualClock Clock) Engine(IScheduler scheduler, EngineConfig config, double stepS = 0.02)
    {
        var clock = new VirtualClock();
        return (new EngineCore(config, scheduler, new FixedStepExecutor(clock, stepS), clock), clock);
    }

    public static RequestSpec Latency(long id, int prompt, int output, double arrival = 0, double ttft = 1, double tbt = 0.1) =>
        Specs.Make(id, prompt, output, RequestClass.Latency, arrival, new Slo(ttft, tbt, 100));

    public static RequestSpec Throughput(long id, int prompt, int output, double deadline = 10, double arrival = 0) =>
        Specs.Make(id, prompt, output, RequestClass.Throughput, arrival, new Slo(1, 0.1, deadline));

    public static RequestSpec Call(long id, long job, int stage, int stageCount, int prompt, int output, double jobDeadline = 40, double jobArrival = 0, string app = "deep-research") =>
        Specs.Make(id, prompt, output, RequestClass.Collective, jobArrival, new Slo(1, 0.1, jobDeadline), job: job, stage: stage, stageCount: stageCount, app: app);

    internal sealed class FixedStepExecutor(VirtualClock clock, double stepS) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            clock.Advance(stepS);
            return new(stepS);
        }
    }
}
