namespace Tempo.Workloads.Tests;

public class SyntheticChatTests
{
    private static readonly List<ChatDraw> Draws = Sample(20000);

    [Fact]
    public void Draw_OutputLengths_MatchDocumentedDistribution()
    {
        var outputs = Draws.Select(d => (double)d.OutputTokens).Order().ToList();

        // Log-normal(ln 193, 1.1) capped at 1024: mean ≈ 300, median ≈ 193, ≈6.5% at the cap.
        Assert.InRange(outputs.Average(), 285, 315);
        Assert.InRange(outputs[outputs.Count / 2], 180, 206);
        Assert.InRange(outputs.Count(o => o == 1024) / (double)outputs.Count, 0.05, 0.08);
        Assert.All(outputs, o => Assert.InRange(o, 1, 1024));
    }

    [Fact]
    public void Draw_PromptLengths_MostlyShortWithTemplateOverhead()
    {
        var raw = Draws.Select(d => d.PromptTokens - SyntheticChat.TemplateTokens).Order().ToList();

        Assert.InRange(raw[raw.Count / 2], 16, 20);
        Assert.InRange(raw.Count(p => p >= 2 && p <= 60) / (double)raw.Count, 0.75, 0.9);
        Assert.InRange(raw[(int)(raw.Count * 0.99)], 200, 400);
        Assert.All(raw, p => Assert.InRange(p, 1, SyntheticChat.MaxRawPromptTokens));
    }

    [Fact]
    public void Draw_TaskKind_ShiftsOutputLengthButOnlyPartly()
    {
        var medianByKind = Draws.GroupBy(d => d.Kind).OrderBy(g => g.Key)
            .Select(g => g.Select(d => d.OutputTokens).Order().ElementAt(g.Count() / 2)).ToList();

        Assert.Equal(6, medianByKind.Count);
        Assert.Equal(medianByKind.Order(), medianByKind);
        Assert.True(medianByKind[^1] > 4 * medianByKind[0]);

        // Within one kind lengths still vary widely: the text is informative, not decisive.
        var explain = Draws.Where(d => d.Kind == TaskKind.Explain).Select(d => Math.Log(d.OutputTokens)).ToList();
        Assert.InRange(ArrivalTimesTests.StdDev(explain), 0.6, 1.0);
    }

    [Fact]
    public void Draw_Text_LengthTracksPromptTokens()
    {
        var longPrompts = Draws.Where(d => d.PromptTokens > 225).ToList();
        var shortPrompts = Draws.Where(d => d.PromptTokens < 30).ToList();

        Assert.All(longPrompts, d => Assert.InRange(d.Text.Length, (d.PromptTokens - SyntheticChat.TemplateTokens) * 4, ((d.PromptTokens - SyntheticChat.TemplateTokens) * 4) + 20));
        Assert.All(shortPrompts, d => Assert.False(string.IsNullOrWhiteSpace(d.Text)));
    }

    [Fact]
    public void KindOf_IsMonotoneInLatentScore()
    {
        Assert.Equal(TaskKind.Brief, SyntheticChat.KindOf(-3));
        Assert.Equal(TaskKind.List, SyntheticChat.KindOf(0));
        Assert.Equal(TaskKind.Essay, SyntheticChat.KindOf(3));
    }

    private static List<ChatDraw> Sample(int n)
    {
        var rng = new Sampler(11, WorkloadStream.Lengths);
        return [.. Enumerable.Range(0, n).Select(_ => SyntheticChat.Draw(rng))];
    }
}
