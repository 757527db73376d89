namespace Tempo.Server.Tests;

public sealed class JobRegistryTests
{
    [Fact]
    public void Resolve_SameKey_SameJobAndFirstArrival()
    {
        var jobs = new JobRegistry(capacity: 10, ttlS: 100);

        var first = jobs.Resolve("a", nowS: 1, deadlineS: 10);
        var again = jobs.Resolve("a", nowS: 5, deadlineS: 10);

        Assert.Equal(first, again);
        Assert.Equal(1, again.ArrivalS);
    }

    [Fact]
    public void Resolve_AfterTtlAndTwiceTheDeadline_ForgetsTheJob()
    {
        var jobs = new JobRegistry(capacity: 10, ttlS: 100);
        var first = jobs.Resolve("a", 0, deadlineS: 80);

        Assert.Equal(first, jobs.Resolve("a", 159, 80)); // kept for max(100, 160) s
        var later = jobs.Resolve("a", 161, 80);

        Assert.NotEqual(first.Id, later.Id);
        Assert.Equal(161, later.ArrivalS);
        Assert.Equal(1, jobs.Count);
    }

    [Fact]
    public void Resolve_BeyondCapacity_EvictsTheOldest()
    {
        var jobs = new JobRegistry(capacity: 3, ttlS: 1000);
        var a = jobs.Resolve("a", 0, 1);
        jobs.Resolve("b", 1, 1);
        jobs.Resolve("c", 2, 1);

        jobs.Resolve("d", 3, 1);

        Assert.Equal(3, jobs.Count);
        Assert.NotEqual(a.Id, jobs.Resolve("a", 4, 1).Id);
    }

    [Fact]
    public void Verdict_GivenOncePerJob_WhenForgotten_MetOnlyIfEveryCallMet()
    {
        var verdicts = new List<bool>();
        var jobs = new JobRegistry(capacity: 10, ttlS: 10, verdicts.Add);
        var met = jobs.Resolve("met", 0, deadlineS: 1);
        jobs.Resolve("met", 0.5, 1); // a second stage of the same job
        var missed = jobs.Resolve("missed", 0, 1);
        jobs.Resolve("missed", 0.5, 1);

        jobs.CallEnded(met.Id, met: true, nowS: 0.4);
        jobs.CallEnded(met.Id, met: true, nowS: 0.9);
        jobs.CallEnded(missed.Id, met: true, nowS: 0.4);
        jobs.CallEnded(missed.Id, met: false, nowS: 1.5);
        Assert.Empty(verdicts); // no verdict while the job is remembered: another call may still come

        jobs.CallEnded(met.Id, met: false, nowS: 11); // a job forgotten is not judged again
        Assert.Equal([true, false], verdicts);
        Assert.Equal(0, jobs.Count);
    }

    [Fact]
    public void Verdict_JobWithACallStillLiveWhenForgotten_IsMissed_AndItsLateEndIsIgnored()
    {
        var verdicts = new List<bool>();
        var jobs = new JobRegistry(capacity: 10, ttlS: 10, verdicts.Add);
        var job = jobs.Resolve("a", 0, deadlineS: 1);
        jobs.Resolve("a", 0.2, 1);
        jobs.CallEnded(job.Id, met: true, nowS: 0.5);

        jobs.Resolve("b", 20, 1); // forgets "a" with one call still live

        Assert.Equal([false], verdicts);
        jobs.CallEnded(job.Id, met: true, nowS: 21);
        Assert.Equal([false], verdicts);
    }

    [Fact]
    public void Verdict_EvictedForCapacity_IsJudgedToo()
    {
        var verdicts = new List<bool>();
        var jobs = new JobRegistry(capacity: 1, ttlS: 1000, verdicts.Add);
        var a = jobs.Resolve("a", 0, 1);
        jobs.CallEnded(a.Id, met: true, nowS: 0.5);

        jobs.Resolve("b", 1, 1);

        Assert.Equal([true], verdicts);
    }
}
