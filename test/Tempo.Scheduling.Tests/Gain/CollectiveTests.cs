using Tempo.Scheduling.Collective;
using Tempo.Workloads;

namespace Tempo.Scheduling.Tests.Gain;

public class StageDeadlineTests
{
    [Fact]
    public void ForCall_FirstStage_GetsInclusiveShareNotZero()
    {
        // Q16: F(≤ 0) of a ToT job is 3/8, so the first stage gets 3/8 of the job deadline, not 0.
        var tot = GraphTemplate.Default(CollectiveApp.TreeOfThought, 4);

        var deadline = StageDeadline.ForCall(jobDeadlineS: 40, tot.CumulativeFraction(0), servedS: 0, floorS: 1);

        Assert.Equal(15, deadline, 9);
    }

    [Fact]
    public void ForCall_LateJob_FlooredAtPositiveMinimum()
    {
        var deadline = StageDeadline.ForCall(jobDeadlineS: 40, cumulativeFraction: 0.5, servedS: 30, floorS: 1);

        Assert.Equal(1, deadline);
    }

    [Fact]
    public void ForCall_LaterStage_SubtractsServedTime()
    {
        Assert.Equal(12, StageDeadline.ForCall(40, 0.5, servedS: 8, floorS: 1), 9);
    }

    [Fact]
    public void PreciseFraction_RecordedJob_InclusiveShareOfStageMaxOutputs()
    {
        var job = new RecordedJob(1, [[new(10, 100)], [new(10, 50), new(10, 300)], [new(10, 100)]]);

        Assert.Equal(0.2, StageDeadline.PreciseFraction(job, 0), 9);
        Assert.Equal(0.8, StageDeadline.PreciseFraction(job, 1), 9);
        Assert.Equal(1, StageDeadline.PreciseFraction(job, 2));
    }
}

public class TemplateLibraryTests
{
    private static GraphTemplate Template(string app, params (long In, long Out, double Work)[] stages) =>
        GraphTemplate.FromStageWork(app, [.. stages.Select(s => new StageNode(s.In, s.Out))], [.. stages.Select(s => s.Work)]);

    [Fact]
    public void Nearest_ClosedPrefix_PicksClosestTemplate()
    {
        var library = new TemplateLibrary();
        var shortFirst = Template("deepresearch", (400, 50, 1), (150, 300, 1), (2000, 13, 2));
        var longFirst = Template("deepresearch", (400, 900, 5), (150, 300, 1), (2000, 13, 2));
        library.Add(shortFirst);
        library.Add(longFirst);

        var match = library.Nearest("deepresearch", 3, [new StageNode(420, 800)]);

        Assert.Same(longFirst, match);
        Assert.Equal(5.0 / 8, library.CumulativeFraction("deepresearch", 3, [new StageNode(420, 800)], 0), 9);
        Assert.Equal(1.0 / 4, library.CumulativeFraction("deepresearch", 3, [new StageNode(400, 60)], 0), 9);
    }

    [Fact]
    public void Nearest_OtherAppOrStageCount_Ignored()
    {
        var library = new TemplateLibrary();
        library.Add(Template("tot", (400, 800, 1), (100, 100, 1)));
        library.Add(Template("deepresearch", (400, 800, 1), (100, 100, 1), (1, 1, 1)));

        Assert.Null(library.Nearest("deepresearch", 2, [new StageNode(400, 800)]));
    }

    [Fact]
    public void CumulativeFraction_NoClosedStage_MeanOverTemplates()
    {
        var library = new TemplateLibrary();
        library.Add(Template("deepresearch", (1, 1, 1), (1, 1, 3)));
        library.Add(Template("deepresearch", (1, 1, 3), (1, 1, 1)));

        Assert.Equal(0.5, library.CumulativeFraction("deepresearch", 2, [], 0), 9);
        Assert.Equal(1, library.CumulativeFraction("deepresearch", 2, [], 1));
    }

    [Fact]
    public void CumulativeFraction_NoTemplates_ToTPatternOrEqualShares()
    {
        var library = new TemplateLibrary();

        Assert.Equal(3.0 / 8, library.CumulativeFraction(CollectiveApp.TreeOfThought, 4, [], 0), 9);
        Assert.Equal(7.0 / 8, library.CumulativeFraction(CollectiveApp.TreeOfThought, 4, [], 2), 9);
        Assert.Equal(2.0 / 6, library.CumulativeFraction(CollectiveApp.DeepResearch, 6, [], 1), 9);
    }

    [Fact]
    public void Seeded_TrainingSplit_HoldsTwoHundredDeepResearchTemplates()
    {
        var library = TemplateLibrary.Seeded();

        Assert.Equal(DeepResearchJobs.TrainingJobs, library.Count);
        var f = library.CumulativeFraction(CollectiveApp.DeepResearch, 6, [], 0);
        Assert.InRange(f, 0.0001, 0.9999);
    }

    [Fact]
    public void Add_Full_DropsOldestGrownTemplateKeepsSeeds()
    {
        var library = new TemplateLibrary(capacity: 2);
        library.Add(Template("a", (1, 1, 1)));
        library.Add(Template("a", (2, 2, 1)));
        library.Add(Template("a", (3, 3, 1)));

        Assert.Equal(2, library.Count);
    }

    [Theory]
    [InlineData("Deep-Research", "deepresearch")]
    [InlineData("deep_research", "deepresearch")]
    [InlineData("Tree-of-Thoughts", "tot")]
    [InlineData("ToT", "tot")]
    [InlineData(null, "")]
    public void Normalise_Spellings_Agree(string? app, string expected)
    {
        Assert.Equal(expected, CollectiveApp.Normalise(app));
    }
}

public class CollectionTrackerTests
{
    [Fact]
    public void CallEnded_ToTStage_ClosesAfterThreeCompletions()
    {
        var t = new CollectionTracker(1, "tot", 4, jobArrivalS: 0, jobDeadlineS: 40);
        for (var i = 0; i < 3; i++)
        {
            t.CallArrived(0, 0);
        }

        t.CallEnded(0, 100, 50, true, 1);
        t.CallEnded(0, 100, 60, true, 2);
        Assert.Empty(t.ClosedStages);

        t.CallEnded(0, 100, 70, true, 3);

        var node = Assert.Single(t.ClosedStages);
        Assert.Equal(new StageNode(300, 180), node);
        Assert.Equal(3, t.StageTimesS[0], 9);
    }

    [Fact]
    public void CallArrived_NextStageOfUnknownShape_ClosesPreviousAtLastCompletion()
    {
        var t = new CollectionTracker(7, "deep-research", 3, jobArrivalS: 10, jobDeadlineS: 60);
        t.CallArrived(0, 10);
        t.CallEnded(0, 400, 90, true, 14);
        Assert.Empty(t.ClosedStages);

        t.CallArrived(1, 15);
        t.CallArrived(1, 15);

        Assert.Equal(new StageNode(400, 90), Assert.Single(t.ClosedStages));
        Assert.Equal(4, t.StageTimesS[0], 9);
        Assert.Equal(1, t.CurrentStage);
    }

    [Fact]
    public void CallEnded_LastStageDrained_FinishesWithTemplateOfStageTimes()
    {
        var t = new CollectionTracker(7, "deep-research", 2, 0, 60);
        t.CallArrived(0, 0);
        t.CallEnded(0, 400, 90, true, 1);
        t.CallArrived(1, 1);
        t.CallArrived(1, 1);
        Assert.False(t.CallEnded(1, 100, 10, true, 2));

        Assert.True(t.CallEnded(1, 100, 20, true, 4));

        Assert.True(t.Finished);
        var template = t.ToTemplate();
        Assert.Equal(2, template.StageCount);
        Assert.Equal(0.25, template.CumulativeFraction(0), 9);
        Assert.Equal(new StageNode(200, 30), template.Stages[1]);
    }

    [Fact]
    public void CallEnded_NotCompleted_MarksFailed()
    {
        var t = new CollectionTracker(7, "deep-research", 2, 0, 60);
        t.CallArrived(0, 0);

        t.CallEnded(0, 400, 0, completed: false, 1);

        Assert.True(t.Failed);
    }
}
