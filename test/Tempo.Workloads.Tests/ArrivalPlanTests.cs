using Tempo.Core;

namespace Tempo.Workloads.Tests;

public sealed class ArrivalPlanTests
{
    [Fact]
    public void Of_GroupsCollectiveCallsByJobAndStage_OrdersByTimeThenWorkloadOrder()
    {
        RequestSpec[] requests =
        [
            Single(1, 0.5),
            Call(2, 0.2, job: 9, stage: 1),
            Call(3, 0.2, job: 9, stage: 0),
            Single(4, 0.2),
            Call(5, 0.2, job: 9, stage: 1),
            Single(6, 0.0),
        ];

        var plan = ArrivalPlan.Of(requests);

        Assert.Equal([5, 1, 3, 0], plan.Select(a => a.Index));
        var job = plan[1];
        Assert.NotNull(job.Stages);
        Assert.Equal([[2], [1, 4]], job.Stages.Select(s => s.ToArray()));
        Assert.All(plan.Where(a => a != job), a => Assert.Null(a.Stages));
    }

    [Fact]
    public void JobOf_NonCollectiveRequestWithJobId_ArrivesOnItsOwn()
    {
        var spec = Single(1, 0) with { JobId = 3 };

        Assert.Null(ArrivalPlan.JobOf(spec));
        Assert.Null(Assert.Single(ArrivalPlan.Of([spec])).Stages);
    }

    private static RequestSpec Single(long id, double arrival) => Specs.Make(id, prompt: 8, output: 4, arrival: arrival, slo: Specs.Loose);

    private static RequestSpec Call(long id, double arrival, long job, int stage) =>
        Specs.Make(id, prompt: 8, output: 4, RequestClass.Collective, arrival, Specs.Loose, job: job, stage: stage, stageCount: 2);
}
