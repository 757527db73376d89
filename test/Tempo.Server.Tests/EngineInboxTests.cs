using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Server.Tests;

public sealed class EngineInboxTests
{
    private static readonly RequestSpec Call = new()
    {
        Id = 0,
        ArrivalS = 0,
        Class = RequestClass.Throughput,
        Slo = new Slo(1, 0.1, 30),
        PromptTokens = 8,
        OutputTokens = 4,
    };

    private static (EngineInbox Inbox, VirtualClock Clock) Create(int maxQueue = 2, Action<bool>? jobJudged = null)
    {
        var clock = new VirtualClock();
        return (new EngineInbox(new ServerOptions { MaxQueue = maxQueue }, clock, jobJudged), clock);
    }

    [Fact]
    public void TryAccept_StampsIdAndArrival_AndQueuesTheSubmission()
    {
        var (inbox, clock) = Create();
        clock.AdvanceTo(2.5);

        Assert.Equal(Refusal.None, inbox.TryAccept(Call, null, out var stream));

        Assert.True(inbox.TryRead(out var command));
        var submit = Assert.IsType<EngineCommand.Submit>(command);
        Assert.Equal(1, submit.Spec.Id);
        Assert.Equal(stream!.Id, submit.Spec.Id);
        Assert.Equal(2.5, submit.Spec.ArrivalS);
        Assert.Same(stream, submit.Stream);
    }

    [Fact]
    public void TryAccept_QueueBoundCountsUnappliedAndEngineWaiting()
    {
        var (inbox, _) = Create(maxQueue: 2);
        Assert.Equal(Refusal.None, inbox.TryAccept(Call, null, out _));
        Assert.Equal(Refusal.None, inbox.TryAccept(Call, null, out _));

        Assert.Equal(Refusal.QueueFull, inbox.TryAccept(Call, null, out var refused));
        Assert.Null(refused);

        // The engine took both in and one is still waiting there: one place is free.
        Assert.Equal((0, true), inbox.ReportEngine(applied: 2, engineWaiting: 1));
        Assert.Equal(Refusal.None, inbox.TryAccept(Call, null, out _));
        Assert.Equal(Refusal.QueueFull, inbox.TryAccept(Call, null, out _));
    }

    [Fact]
    public void CollectiveCalls_OfOneJob_ShareItsIdAndFirstArrival()
    {
        var (inbox, clock) = Create(maxQueue: 10);
        var call = Call with { Class = RequestClass.Collective };
        inbox.TryAccept(call, "job-a", out _);
        clock.AdvanceTo(4);
        inbox.TryAccept(call, "job-a", out _);

        inbox.TryRead(out var first);
        inbox.TryRead(out var second);
        var a = ((EngineCommand.Submit)first).Spec;
        var b = ((EngineCommand.Submit)second).Spec;
        Assert.Equal(a.JobId, b.JobId);
        Assert.Equal(0, b.ArrivalS);
        Assert.Equal(4, ((EngineCommand.Submit)second).ArrivalS); // its own arrival still travels with it
        Assert.Equal(1, inbox.TrackedJobs);
    }

    [Fact]
    public void StopAccepting_RefusesNewRequests_AndSaysWhetherItWasTheFirstStop()
    {
        var (inbox, _) = Create();

        Assert.True(inbox.StopAccepting());
        Assert.False(inbox.StopAccepting());
        Assert.Equal(Refusal.ShuttingDown, inbox.TryAccept(Call, null, out _));
        Assert.Equal((0, false), inbox.ReportEngine(0, 0));
    }

    [Fact]
    public void Close_QueuesALastAbortOfEverything_ThenTheQueueEnds()
    {
        var (inbox, _) = Create();
        inbox.TryAccept(Call, null, out _);

        inbox.Close("server stopped");

        Assert.True(inbox.TryRead(out var submit));
        Assert.IsType<EngineCommand.Submit>(submit);
        Assert.True(inbox.TryRead(out var abort));
        Assert.Equal("server stopped", Assert.IsType<EngineCommand.AbortAll>(abort).Detail);
        Assert.False(inbox.WaitForCommand());
        Assert.Equal(Refusal.ShuttingDown, inbox.TryAccept(Call, null, out _));
    }

    [Fact]
    public void Fail_RefusesWithEngineFailed_ButKeepsWhatWasQueuedForTheEngineToAnswer()
    {
        var (inbox, _) = Create();
        inbox.TryAccept(Call, null, out _);

        inbox.Fail();

        Assert.Equal(Refusal.EngineFailed, inbox.TryAccept(Call, null, out _));
        Assert.True(inbox.TryRead(out var queued));
        Assert.IsType<EngineCommand.Submit>(queued);
        Assert.False(inbox.WaitForCommand());
    }

    [Fact]
    public void Ended_CollectiveCallsCountTowardTheirJob_JudgedOnceTheJobIsForgotten()
    {
        var verdicts = new List<bool>();
        var (inbox, clock) = Create(maxQueue: 10, jobJudged: verdicts.Add);
        inbox.TryAccept(Call with { Class = RequestClass.Collective }, "job-a", out _);
        inbox.TryRead(out var command);
        var spec = ((EngineCommand.Submit)command).Spec;

        inbox.Ended(spec, sloMet: true);
        inbox.Ended(Call with { Id = 99 }, sloMet: false); // not a collective call: no job to count toward
        Assert.Empty(verdicts);

        clock.AdvanceTo(new ServerOptions().JobStateTtl.TotalSeconds + 1);
        inbox.TryAccept(Call with { Class = RequestClass.Collective }, "job-b", out _); // a new job sweeps the forgotten ones

        Assert.Equal([true], verdicts);
    }
}
