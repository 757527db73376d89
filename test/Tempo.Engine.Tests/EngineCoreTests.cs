using Tempo.Core;

namespace Tempo.Engine.Tests;

public class EngineCoreTests
{
    [Fact]
    public void Submit_ContextLongerThanModel_RejectsAtOnceWithReason()
    {
        var engine = TestEngines.Create(new TestEngines.GreedyScheduler(), new EngineConfig { MaxModelLen = 100, GpuBlocks = 64 });
        RequestRecord? ended = null;
        engine.RequestEnded += (_, rec) => ended = rec;

        engine.Submit(TestEngines.Spec(1, prompt: 90, output: 20));

        Assert.NotNull(ended);
        Assert.Equal(FinishReason.Rejected, ended.Reason);
        Assert.Contains("exceed", ended.Detail);
        Assert.False(engine.HasWork);
    }

    [Fact]
    public void Submit_SchedulerThrowsForOneRequest_ThatRequestIsRejectedWithTheReasonOthersRun()
    {
        var engine = TestEngines.Create(new ThrowsOnArrival(badId: 2));
        var ended = new List<RequestRecord>();
        engine.RequestEnded += (_, r) => ended.Add(r);

        engine.Submit(TestEngines.Spec(1, prompt: 16, output: 4));
        engine.Submit(TestEngines.Spec(2, prompt: 16, output: 4));
        engine.Submit(TestEngines.Spec(3, prompt: 16, output: 4));
        var rest = TestEngines.RunToEnd(engine);

        var bad = Assert.Single(ended, r => r.Spec.Id == 2);
        Assert.Equal(FinishReason.Rejected, bad.Reason);
        Assert.Contains("could not take this request: no state for 2", bad.Detail, StringComparison.Ordinal);
        Assert.Equal([1L, 3L], rest.Select(r => r.Spec.Id).Order());
        Assert.All(rest, r => Assert.Equal(FinishReason.Length, r.Reason));
        engine.CheckInvariants();
    }

    private sealed class ThrowsOnArrival(long badId) : IScheduler
    {
        private readonly TestEngines.GreedyScheduler _inner = new();

        public string Name => "throws";

        public StepPlan Plan(SchedulerView view) => _inner.Plan(view);

        public void OnArrival(EngineRequest request)
        {
            if (request.Id == badId)
            {
                throw new InvalidOperationException($"no state for {badId}");
            }
        }
    }

    [Fact]
    public void Step_SingleRequest_PrefillsInChunksThenDecodesEveryToken()
    {
        var engine = TestEngines.Create(new TestEngines.GreedyScheduler(), new EngineConfig { TokenBudget = 32, GpuBlocks = 64 });
        engine.Submit(TestEngines.Spec(1, prompt: 70, output: 5));

        var records = TestEngines.RunToEnd(engine);

        var rec = Assert.Single(records);
        Assert.Equal(FinishReason.Length, rec.Reason);
        Assert.Equal(5, rec.TokenTimesS.Count);
        // 70 prompt tokens at 32 per step = 3 steps, the third produces token 1; then 4 decode steps.
        Assert.Equal(0.03, rec.TtftS!.Value, 9);
        Assert.Equal(7, engine.Stats.Steps);
        Assert.Equal(0, engine.Kv.TotalGpuBlocks - engine.Kv.FreeGpuBlocks);
    }
}
