using Microsoft.Extensions.Time.Testing;

using Tempo.Backends;
using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Server.Tests;

public sealed class PacedExecutorTests
{
    [Fact]
    public void PacedExecutor_Step_WaitsTheModelledTimeScaledBySpeed()
    {
        var clock = new FakeTimeProvider();
        var slept = new List<TimeSpan>();
        var model = new CostModel(CostProfile.Default);
        var executor = new PacedExecutor(model, 2, clock, d =>
        {
            slept.Add(d);
            clock.Advance(d);
        });
        var config = CostProfile.Default.ToEngineConfig(4, 512);
        var engine = new EngineCore(config, Scheduling.PolicyRegistry.Get("sarathi").Create(new Scheduling.SchedulerOptions { Engine = config }), executor, new WallClock(clock));
        engine.Submit(new Core.RequestSpec { Id = 1, ArrivalS = 0, Class = Core.RequestClass.Latency, Slo = new Core.Slo(1, 0.1, 10), PromptTokens = 100, OutputTokens = 2 });

        var duration = engine.Step();

        // The step (the whole 100-token prefill) sleeps once, for the modelled time at speed 2, and reports that time.
        var expected = model.StepTimeS([new BatchEntry(null!, 100, 0, false, true)], 0) / 2;
        Assert.Equal(expected, Assert.Single(slept).TotalSeconds, 6);
        Assert.Equal(expected, duration!.Value, 6);
    }
}
