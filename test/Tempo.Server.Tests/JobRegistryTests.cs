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
}
