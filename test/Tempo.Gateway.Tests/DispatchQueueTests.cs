using CsCheck;

using Tempo.Core;
using Tempo.Fleet;

namespace Tempo.Gateway.Tests;

public class DispatchQueueTests
{
    private static RequestSpec Spec(long id, double ttftS = 1) =>
        Specs.Make(id, prompt: 50, output: 20, RequestClass.Latency, slo: new Slo(ttftS, 0.1, 10));

    private static DispatchQueue Queue(int maxQueue = 100, int cap = 2, string router = "round-robin") =>
        new(RouterRegistry.Create(router), maxQueue, cap, inFlightSlack: 0, tokenBudget: 512, () => 0);

    [Fact]
    public void HoldsRequestsBeyondTheBudget_AndPlacesThemMostUrgentFirstWhenASlotFrees()
    {
        var q = Queue(cap: 1);
        q.AddOrRevive("a", new Uri("http://a/"));

        var (first, _) = q.Enqueue(Spec(1, ttftS: 5), shed: false);
        var (loose, _) = q.Enqueue(Spec(2, ttftS: 5), shed: false);
        var (urgent, _) = q.Enqueue(Spec(3, ttftS: 0.5), shed: false);

        Assert.True(first!.Placed.IsCompletedSuccessfully);
        Assert.False(loose!.Placed.IsCompleted);
        Assert.Equal(2, q.Waiting);
        q.Release(first, started: true);
        Assert.True(urgent!.Placed.IsCompletedSuccessfully);
        Assert.False(loose.Placed.IsCompleted);
    }

    private static RequestSpec Call(long id, int outputTokens, double deadlineS) =>
        Specs.Make(id, prompt: 50, output: outputTokens, slo: new Slo(1, 0.1, deadlineS));

    [Fact]
    public void WhileEverythingFits_TheLeastLaxityGoesFirst()
    {
        var q = Queue(cap: 1);
        q.AddOrRevive("a", new Uri("http://a/"));
        var (first, _) = q.Enqueue(Call(1, 20, 100), shed: false);

        // Both fit one after the other on the one slot: the long call must start first to make its deadline.
        var (longCall, _) = q.Enqueue(Call(2, 2_000, 45), shed: false);
        var (shortCall, _) = q.Enqueue(Call(3, 10, 46), shed: false);
        q.Release(first!, started: true);

        Assert.True(longCall!.Placed.IsCompletedSuccessfully);
        Assert.False(shortCall!.Placed.IsCompleted);
    }

    [Fact]
    public void UnderOverload_TheSafeRequestsGoByValuePerSecondOfSlot()
    {
        var q = Queue(cap: 1);
        q.AddOrRevive("a", new Uri("http://a/"));
        var (first, _) = q.Enqueue(Call(1, 20, 100), shed: false);

        // A second long call cannot start before 50 s once the first long one holds the slot for ~41 s: the slot
        // schedule sheds it, the queue is overloaded, and the short call (far more gain per second of slot) goes
        // first, though its latest start is later; the long call still fits after it.
        var (longCall, _) = q.Enqueue(Call(2, 2_000, 45), shed: false);
        var (secondLong, _) = q.Enqueue(Call(3, 2_000, 50), shed: false);
        var (shortCall, _) = q.Enqueue(Call(4, 10, 46), shed: false);
        q.Release(first!, started: true);

        Assert.True(shortCall!.Placed.IsCompletedSuccessfully);
        Assert.False(longCall!.Placed.IsCompleted);
        q.Release(shortCall, started: true);
        Assert.True(longCall.Placed.IsCompletedSuccessfully);
        Assert.False(secondLong!.Placed.IsCompleted);
    }

    [Fact]
    public void QueueBound_RefusesTheNextRequest()
    {
        var q = Queue(maxQueue: 1, cap: 1);
        q.AddOrRevive("a", new Uri("http://a/"));

        q.Enqueue(Spec(1), shed: false);
        q.Enqueue(Spec(2), shed: false);
        var (_, refusal) = q.Enqueue(Spec(3), shed: false);

        Assert.Equal(Refusal.QueueFull, refusal);
    }

    [Fact]
    public void Shedding_RefusesWhatNoReplicaCanStartInTime_KeepsTheRest()
    {
        var q = Queue();
        q.AddOrRevive("a", new Uri("http://a/"));

        Assert.Equal(Refusal.SloUnattainable, q.Enqueue(Spec(1, ttftS: 0.001), shed: true).Refusal);
        Assert.Equal(Refusal.None, q.Enqueue(Spec(2, ttftS: 0.001), shed: false).Refusal);
        Assert.Equal(Refusal.None, q.Enqueue(Spec(3, ttftS: 2), shed: true).Refusal);
    }

    [Fact]
    public async Task Requeue_AfterAFailedReplica_PlacesTheRequestOnAnother()
    {
        var q = Queue(cap: 4);
        var a = q.AddOrRevive("a", new Uri("http://a/"));
        var b = q.AddOrRevive("b", new Uri("http://b/"));

        var (entry, _) = q.Enqueue(Spec(1), shed: false);
        var first = await entry!.Placed;
        var again = q.Requeue(entry);

        Assert.NotSame(first, await again.Placed);
        Assert.False(first.Healthy);
        Assert.Equal(0, first.InFlight);
        Assert.Equal(1, (first == a ? b : a).InFlight);
    }

    [Fact]
    public void NoReplicaLeft_WaitingRequestsFail_NewOnesAreRefused()
    {
        var q = Queue(cap: 1);
        var a = q.AddOrRevive("a", new Uri("http://a/"));
        q.Enqueue(Spec(1), shed: false);
        var (waiting, _) = q.Enqueue(Spec(2), shed: false);

        q.SetHealth(a, false);
        Assert.Equal(1, q.FailWaitingIfNoReplica());

        Assert.IsType<NoReplicaException>(waiting!.Placed.Exception!.InnerException);
        Assert.Equal(Refusal.NoReplica, q.Enqueue(Spec(3), shed: false).Refusal);
    }

    [Fact]
    public void Property_EveryRequestIsPlacedOrEndedOnce_AndNoReplicaExceedsItsBudget()
    {
        // Operations: 0 enqueue, 1 release the oldest placed, 2 cancel the oldest waiting, 3 requeue the oldest placed,
        // 4 a replica turns unhealthy, 5 it recovers, 6 a scrape reports a batch size.
        Gen.Select(Gen.Int[0, 6].Array[20, 200], Gen.Int[1, 4], Gen.Int[0, RouterRegistry.Names.Count - 1]).Sample((ops, replicas, router) =>
        {
            var q = Queue(maxQueue: 50, cap: 3, router: RouterRegistry.Names[router]);
            var pool = Enumerable.Range(0, replicas).Select(i => q.AddOrRevive($"r{i}", new Uri($"http://r{i}/"))).ToList();
            var live = new List<QueuedRequest>();
            var id = 0L;
            var k = 0;
            var before = new Dictionary<string, int>();
            foreach (var op in ops)
            {
                foreach (var r in q.Replicas)
                {
                    before[r.Id] = r.InFlight;
                }

                var placed = live.Where(e => e.Placed.IsCompletedSuccessfully).ToList();
                var waiting = live.Where(e => !e.Placed.IsCompleted).ToList();
                switch (op)
                {
                    case 0 when q.Enqueue(Spec(++id), shed: false).Entry is { } e:
                        live.Add(e);
                        break;
                    case 1 when placed.Count > 0:
                        q.Release(placed[0], started: true);
                        live.Remove(placed[0]);
                        break;
                    case 2 when waiting.Count > 0:
                        Assert.True(q.Cancel(waiting[0]));
                        live.Remove(waiting[0]);
                        break;
                    case 3 when placed.Count > 0:
                        live.Remove(placed[0]);
                        live.Add(q.Requeue(placed[0]));
                        break;
                    case 4:
                        q.SetHealth(pool[k++ % pool.Count], false);
                        break;
                    case 5:
                        q.SetHealth(pool[k++ % pool.Count], true);
                        break;
                    case 6:
                        q.Update(pool[k++ % pool.Count], new ScrapedLoad(1, 0, 0.1, 2, 0.02, 1, 0.1));
                        break;
                }

                // A budget can shrink under requests already placed (a scrape reports a smaller batch); what the
                // queue must never do is place a request on a replica at or over its budget.
                foreach (var r in q.Replicas)
                {
                    Assert.True(r.InFlight >= 0);
                    if (r.InFlight > before[r.Id])
                    {
                        Assert.True(r.InFlight <= r.Budget(3, 0), $"{r.Id}: {r.InFlight} in flight over a budget of {r.Budget(3, 0)}");
                    }
                }

                live.RemoveAll(e => e.Placed.IsFaulted);
                Assert.Equal(live.Count(e => e.Placed.IsCompletedSuccessfully), q.Replicas.Sum(r => r.InFlight));
                Assert.Equal(live.Count(e => !e.Placed.IsCompleted), q.Waiting);
            }
        }, iter: 200);
    }
}
