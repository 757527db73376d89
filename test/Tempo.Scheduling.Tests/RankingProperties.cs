using CsCheck;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Tests;

public sealed class RankingProperties
{
    // Queues of up to 200 requests with few distinct priorities and arrival times, so that ties are common and the
    // submission-order tie-break is what decides.
    private static readonly Gen<(List<(int Priority, int Arrival)> Queue, int Count)> Queues =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 5]).List[0, 200].Select(Gen.Int[0, 210], (q, c) => (q, c));

    [Fact]
    public void Top_IsTheHeadOfAFullSort_TiesInSubmissionOrder()
    {
        Queues.Sample(c =>
        {
            var queue = Submit(c.Queue);
            var expected = queue.OrderBy(r => r.Spec.Priority).ThenBy(r => r.ArrivalS).ThenBy(r => r.Sequence).Take(c.Count);

            var top = new Ranking(RequestOrder.Priority).Top(queue, c.Count, nowS: 0);

            Assert.Equal(expected.Select(r => r.Id), top.Select(r => r.Id));
        });
    }

    [Fact]
    public void OffersAfterAReadAreRankedWithTheRest()
    {
        Queues.Sample(c =>
        {
            var queue = Submit(c.Queue);
            var half = queue.Count / 2;
            var ranking = new Ranking(RequestOrder.Priority);
            ranking.Reset(c.Count, nowS: 0);
            foreach (var r in queue.Take(half))
            {
                ranking.Offer(r);
            }

            _ = ranking.Count; // ranks (and may trim) the first half
            foreach (var r in queue.Skip(half))
            {
                ranking.Offer(r);
            }

            var expected = new Ranking(RequestOrder.Priority).Top(queue, c.Count, nowS: 0).Select(r => r.Id).ToList();
            Assert.Equal(expected, ranking.Select(r => r.Id));
        });
    }

    [Fact]
    public void Sort_PutsAListInOrderInPlace()
    {
        Queues.Sample(c =>
        {
            var list = Submit(c.Queue);
            var expected = list.OrderBy(r => r.Spec.Priority).ThenBy(r => r.ArrivalS).ThenBy(r => r.Sequence).Select(r => r.Id).ToList();

            new Ranking(RequestOrder.Priority).Sort(list, nowS: 0);

            Assert.Equal(expected, list.Select(r => r.Id));
        });
    }

    [Fact]
    public void DeadlineOrder_PutsOnTimeBeforeOverdue_AndTheLeastLateFirst()
    {
        var sim = new SimHarness(PolicyRegistry.Get("edf").Create(new SchedulerOptions { Engine = Specs.Engine() }), Specs.Engine());
        var soon = sim.Submit(Specs.Make(1, slo: new Slo(0, 0, 5)));
        var later = sim.Submit(Specs.Make(2, slo: new Slo(0, 0, 9)));
        var late = sim.Submit(Specs.Make(3, slo: new Slo(0, 0, 2)));
        var later2 = sim.Submit(Specs.Make(4, slo: new Slo(0, 0, 1)));

        var ranked = new Ranking(DeadlineOrder.Instance).Top([later, late, soon, later2], 4, nowS: 3);

        // At t = 3: deadlines 5 and 9 are on time (slack 2 and 6), 2 and 1 are overdue by 1 and 2.
        Assert.Equal([1L, 2L, 3L, 4L], ranked.Select(r => r.Id));
    }

    [Fact]
    public void EngineQueueOrder_IsTheOnlyOneThatSkipsRanking()
    {
        Assert.True(RequestOrder.EngineQueue.IsEngineQueueOrder);
        Assert.False(RequestOrder.Arrival.IsEngineQueueOrder);
        Assert.False(RequestOrder.Priority.IsEngineQueueOrder);
        Assert.False(DeadlineOrder.Instance.IsEngineQueueOrder);
    }

    private static List<EngineRequest> Submit(List<(int Priority, int Arrival)> queue)
    {
        var sim = new SimHarness(PolicyRegistry.Get("priority").Create(new SchedulerOptions { Engine = Specs.Engine() }), Specs.Engine());
        var requests = new List<EngineRequest>();
        for (var i = 0; i < queue.Count; i++)
        {
            requests.Add(sim.Submit(Specs.Make(i + 1, arrival: queue[i].Arrival, priority: queue[i].Priority)));
        }

        return requests;
    }
}
