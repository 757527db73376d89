namespace Tempo.Engine.Tests;

public class StepLogTests
{
    [Fact]
    public void StepLogExecutor_LogsEveryForwardStep_AndTheLogReadsBackTheSameShapes()
    {
        var clock = new VirtualClock();
        var writer = new StringWriter();
        var logged = new List<StepBatchShape>();
        var executor = new StepLogExecutor(new RecordingExecutor(clock, logged), clock, writer);
        var engine = new EngineCore(new EngineConfig { TokenBudget = 32, GpuBlocks = 64 }, new TestEngines.GreedyScheduler(), executor, clock);
        engine.Submit(TestEngines.Spec(1, prompt: 50, output: 3));
        engine.Submit(TestEngines.Spec(2, prompt: 5, output: 4));

        while (engine.HasWork)
        {
            engine.Step();
        }

        var steps = StepLog.Read(new StringReader(writer.ToString()));

        Assert.Equal(logged.Count(s => s.Work.Length > 0), steps.Count);
        Assert.Equal(executor.StepsLogged, steps.Count);
        var forward = logged.Where(s => s.Work.Length > 0).ToList();
        for (var i = 0; i < steps.Count; i++)
        {
            Assert.Equal(forward[i].Work, steps[i].Work);
            Assert.Equal(forward[i].AtS, steps[i].AtS, 6);
            Assert.Equal(0.004, steps[i].DurationS, 9);
        }

        // A 50-token prompt over a 32-token budget: a middle chunk that samples nothing, then decodes.
        Assert.Contains(steps, s => s.Work.Any(w => !w.IsDecode && !w.ProducesToken));
        Assert.Contains(steps, s => s.Work.Any(w => w.IsDecode && w.ProducesToken));
    }

    [Fact]
    public void Read_MalformedLine_NamesTheLine()
    {
        const string log = "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1]]}\n\n{\"at_s\":1,\"ms\":1,\"swap_blocks\":0,\"work\":[[0,0,1,1]]}\n";

        var e = Assert.Throws<FormatException>(() => StepLog.Read(new StringReader(log)));

        Assert.Contains("line 3", e.Message);
        Assert.Contains("line 1", Assert.Throws<FormatException>(() => StepLog.Read(new StringReader("{\"at_s\":0,\"ms\":1,"))).Message);
    }

    [Fact]
    public void Format_WritesInvariantNumbersAndFlags()
    {
        var line = StepLog.Format(1.25, 1.5, 0.0125, 1.5125, [], 3);

        Assert.Equal("{\"plan_s\":1.25,\"at_s\":1.5,\"ms\":12.5,\"end_s\":1.5125,\"swap_blocks\":3,\"work\":[]}", line);
    }

    [Fact]
    public void Read_TakesLogsWrittenBeforeIdsAndPlanTimes_AndSkipsTraceLines()
    {
        const string log = "{\"trace\":1,\"policy\":\"fcfs\",\"engine\":{}}\n"
            + "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1]]}\n"
            + "{\"plan_s\":0.5,\"at_s\":0.6,\"ms\":2,\"swap_blocks\":0,\"work\":[]}\n"
            + "{\"end_s\":0.7,\"id\":3,\"reason\":\"stop\"}\n"
            + "{\"plan_s\":1,\"at_s\":1.1,\"ms\":2,\"swap_blocks\":0,\"work\":[[1,4,1,1,3]]}\n";

        var steps = StepLog.Read(new StringReader(log));

        Assert.Equal(2, steps.Count);
        Assert.Null(steps[0].PlanS);
        Assert.Null(steps[0].RequestIds);
        Assert.Equal(1.0, steps[1].PlanS);
        Assert.Equal([3L], steps[1].RequestIds!);
    }

    [Fact]
    public void Read_WorkItemsWithAndWithoutIdsInOneStep_IsAnError()
    {
        const string log = "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1,1],[4,0,0,1]]}\n";

        Assert.Contains("line 1", Assert.Throws<FormatException>(() => StepLog.Read(new StringReader(log))).Message);
    }

    [Fact]
    public void StepTrace_WithoutHeader_SaysWhatIsMissing()
    {
        const string log = "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1]]}\n";

        var e = Assert.Throws<FormatException>(() => StepTrace.Read(new StringReader(log)));

        Assert.Contains("header", e.Message);
        Assert.Contains("the trace is empty", Assert.Throws<FormatException>(() => StepTrace.Read(new StringReader(string.Empty))).Message);
    }

    [Fact]
    public void StepTrace_UnknownReasonOrKind_NamesTheLine()
    {
        var header = StepTrace.FormatHeader(new EngineConfig(), "fcfs") + "\n";

        Assert.Contains("line 2", Assert.Throws<FormatException>(() => StepTrace.Read(new StringReader(header + "{\"end_s\":1,\"id\":2,\"reason\":\"melted\"}"))).Message);
        Assert.Contains("line 2", Assert.Throws<FormatException>(() => StepTrace.Read(new StringReader(header + "{\"what\":1}"))).Message);
        Assert.Contains("line 2", Assert.Throws<FormatException>(() => StepTrace.Read(new StringReader(header + "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1]]}"))).Message);
    }

    [Fact]
    public void TokensAreStampedWithTheStepEndTheLogRecords_NotWhenTheEngineGetsToThem()
    {
        // The clock moves 5 ms every time it is read, as a wall clock moves while the engine does its bookkeeping.
        var clock = new ReadTickingClock(0.005);
        var writer = new StringWriter();
        var log = new StepLogExecutor(new TestEngines.FixedStepExecutor(new VirtualClock(), 0.01), clock, writer);
        var engine = new EngineCore(new EngineConfig { GpuBlocks = 64 }, new TestEngines.GreedyScheduler(), log, clock);
        var r = engine.Submit(TestEngines.Spec(1, prompt: 5, output: 3));

        while (engine.HasWork)
        {
            engine.Step();
        }

        var ends = StepLog.Read(new StringReader(writer.ToString())).Select(s => s.EndS!.Value).ToList();
        Assert.Equal(ends, r.TokenTimesS);
    }

    private sealed class ReadTickingClock(double tickS) : IClock
    {
        private double _now;

        public double NowS => _now += tickS;
    }

    private sealed record StepBatchShape(double AtS, WorkShape[] Work);

    private sealed class RecordingExecutor(VirtualClock clock, List<StepBatchShape> log) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            log.Add(new StepBatchShape(clock.NowS, [.. batch.Entries.Select(e => e.Shape)]));
            clock.Advance(0.004);
            return new StepResult(0.004);
        }
    }
}
