using Tempo.Engine;
using Tempo.Simulation.Profiles;
using Tempo.Simulation.Profiles.Calibration;

namespace Tempo.Simulation.Tests.Profiles;

public class CalibrationTests
{
    private static readonly int[] Knots = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    // A CPU-like truth in the fitted form: 3 ms per step, T_lin rising to 40 ms at 256 tokens, attention and an
    // LM head per sampled token.
    private static readonly CostProfile Truth = CostProfile.Default with
    {
        Name = "truth",
        NumLayers = 1,
        LinearMs = [[1, 0], [2, 0.4], [4, 0.9], [8, 1.7], [16, 3.1], [32, 5.8], [64, 10.9], [128, 21], [256, 40]],
        DecodeAttnAMs = 0,
        DecodeAttnBMs = 0.0012,
        GqaBatchFactor = 1,
        PrefillAttnAMs = 0,
        PrefillAttnBetaMs = 0,
        PrefillAttnGMs = 9e-6,
        FixedMs = 3,
        OutputMs = 0.35,
    };

    [Fact]
    public void Fit_SamplesFromTheFittedForm_RecoversEveryCoefficient()
    {
        var samples = Grid().Select(s => s with { Ms = Price(Truth, s.Work) }).ToArray();

        var fitted = CostModelFit.Fit(samples, CostProfile.Default with { Name = "fitted" }, Knots);

        Assert.Equal("fitted", fitted.Name);
        Assert.Equal(Truth.FixedMs, fitted.FixedMs, 1e-6);
        Assert.Equal(Truth.DecodeAttnBMs, fitted.DecodeAttnBMs, 1e-9);
        Assert.Equal(Truth.PrefillAttnGMs, fitted.PrefillAttnGMs, 1e-11);
        Assert.Equal(Truth.OutputMs, fitted.OutputMs, 1e-6);
        for (var i = 0; i < Knots.Length; i++)
        {
            Assert.Equal(Truth.LinearMs[i][1], fitted.LinearMs[i][1], 1e-5);
        }

        Assert.True(FitError.Of(fitted, samples).MaxAbsPct < 1e-4);
    }

    [Fact]
    public void Fit_NoisySamples_StaysWithinTheNoiseAndPredictsHeldOutMixedSteps()
    {
        var random = new Random(7);
        var samples = Grid().Select(s => s with { Ms = Price(Truth, s.Work) * (1 + (0.04 * (random.NextDouble() - 0.5))) }).ToArray();
        StepSample[] mixed =
        [
            new("mixed", [.. Enumerable.Repeat(WorkShape.Decode(300), 6), WorkShape.Prefill(100, 0, false)], 0),
            new("mixed", [.. Enumerable.Repeat(WorkShape.Decode(900), 3), WorkShape.Prefill(200, 400, true)], 0),
        ];
        mixed = [.. mixed.Select(s => s with { Ms = Price(Truth, s.Work) })];

        var fitted = CostModelFit.Fit(samples, Truth with { Name = "fitted" }, Knots);

        Assert.True(FitError.Of(fitted, samples).MedianAbsPct < 2);
        Assert.True(FitError.Of(fitted, mixed).MaxAbsPct < 5);
    }

    [Fact]
    public void Fit_ProfileRoundTripsThroughJson()
    {
        var samples = Grid().Select(s => s with { Ms = Price(Truth, s.Work) }).ToArray();
        var fitted = CostModelFit.Fit(samples, CostProfile.Default with { Name = "fitted" }, Knots);
        var path = Path.Combine(Path.GetTempPath(), $"tempo-fit-{Guid.NewGuid():N}.json");
        try
        {
            fitted.Save(path);
            var loaded = CostProfile.Load(path);

            Assert.Equal(fitted.ToJson(), loaded.ToJson());
            Assert.Equal(Truth.OutputMs, loaded.OutputMs, 1e-6);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Fit_CoefficientsThatWouldGoNegative_AreZero()
    {
        // Steps whose cost falls with context: the unconstrained fit would give decode attention a negative slope.
        var samples = Grid().Select(s => s with { Ms = Math.Max(0.5, Price(Truth with { DecodeAttnBMs = 0 }, s.Work) - (0.0005 * DecodeContext(s.Work))) }).ToArray();

        var fitted = CostModelFit.Fit(samples, Truth, Knots);

        Assert.Equal(0, fitted.DecodeAttnBMs);
        fitted.Validate();
    }

    [Fact]
    public void Fit_KnotNoSampleReaches_IsLeftOutOfTheTable()
    {
        var samples = Grid().Select(s => s with { Ms = Price(Truth, s.Work) }).ToArray();

        var fitted = CostModelFit.Fit(samples, Truth, [1, 2, 4, 8, 16, 32, 64, 100, 128, 256]);

        Assert.DoesNotContain(fitted.LinearMs, p => p[0] == 100);
        Assert.Equal(Knots.Length, fitted.LinearMs.Length);
        Assert.True(FitError.Of(fitted, samples).MaxAbsPct < 1e-4);
    }

    [Fact]
    public void Grid_FitsTheEngineLimitsAndHoldsOutMixedSteps()
    {
        var grid = CalibrationGrid.For(maxBatch: 8, tokenBudget: 256, maxContext: 1024, kvCells: 8192, growth: 20);

        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 256], grid.Knots);
        Assert.All(grid.Points, p => Assert.True(p.Batch <= 8 && p.Chunk + p.Batch <= 256));
        Assert.All(grid.Points.Where(p => p.Kind == CalibrationPointKind.Decode), p => Assert.True(8L * (p.Context + 20) <= 8192));
        Assert.All(grid.Points.Where(p => p.Kind == CalibrationPointKind.Prefill), p => Assert.True(p.Chunk + p.Context <= 1024));
        Assert.All(grid.Points.Where(p => p.Kind == CalibrationPointKind.Mixed), p => Assert.True(p.HeldOut));
        Assert.DoesNotContain(grid.Points, p => p.HeldOut && p.Kind != CalibrationPointKind.Mixed);
        Assert.Equal(4, grid.Points.Count(p => p.Kind == CalibrationPointKind.Mixed));
        Assert.Equal(32 + 3, grid.Points.Single(p => p.Kind == CalibrationPointKind.Decode && p.Batch == 8 && p.Context == 32).Work(3).Sum(w => w.ContextBefore) / 8);
        Assert.Contains("at most", Assert.Throws<ArgumentException>(() => CalibrationGrid.For(8, 256, 1024, 256, 20)).Message);
    }

    [Fact]
    public void Fit_TooFewSamplesOrBadKnots_Throw()
    {
        var samples = Grid().Take(5).Select(s => s with { Ms = 1 }).ToArray();

        Assert.Contains("cannot fit", Assert.Throws<ArgumentException>(() => CostModelFit.Fit(samples, Truth, Knots)).Message);
        Assert.Contains("start at 1", Assert.Throws<ArgumentException>(() => CostModelFit.Fit(samples, Truth, [2, 4])).Message);
        Assert.Contains("increase", Assert.Throws<ArgumentException>(() => CostModelFit.Fit(samples, Truth, [1, 4, 4])).Message);
    }

    [Fact]
    public void CostModel_PaddedDecodeAttention_ChargesBatchTimesLongestContext()
    {
        WorkShape[] work = [WorkShape.Decode(99), WorkShape.Decode(999), WorkShape.Decode(9)];
        var paged = new CostModel(Truth);
        var padded = new CostModel(Truth with { DecodeAttnPadded = true });

        var extra = (padded.ShapeTimeS(work, 0) - paged.ShapeTimeS(work, 0)) * 1000;

        // Padded: 3 x 1,000 context tokens; paged: 100 + 1,000 + 10.
        Assert.Equal(Truth.DecodeAttnBMs * ((3 * 1000) - 1110), extra, 9);
    }

    [Fact]
    public void Fit_PaddedTruthWithMixedContexts_RecoveredOnlyByThePaddedForm()
    {
        var truth = Truth with { DecodeAttnPadded = true };
        var random = new Random(3);
        var samples = Enumerable.Range(0, 200)
            .Select(i => (WorkShape[])[.. Enumerable.Range(0, 1 + (i % 8)).Select(_ => WorkShape.Decode(random.Next(8, 1000)))])
            .Concat(Grid().Select(s => s.Work.ToArray()))
            .Select(w => new StepSample("step", w, Price(truth, w)))
            .ToArray();

        var padded = CostModelFit.Fit(samples, Truth, Knots, paddedDecode: true);
        var paged = CostModelFit.Fit(samples, Truth, Knots, paddedDecode: false);

        Assert.True(padded.DecodeAttnPadded);
        Assert.Equal(truth.DecodeAttnBMs, padded.DecodeAttnBMs, 1e-9);
        Assert.True(FitError.Of(padded, samples).MaxAbsPct < 1e-4);
        Assert.True(FitError.Of(paged, samples).MedianAbsPct > FitError.Of(padded, samples).MedianAbsPct);
    }

    [Fact]
    public void MatchTotalTime_ScalesEveryCoefficientToTheMeasuredTotal()
    {
        var samples = Grid().Select(s => s with { Ms = 1.2 * Price(Truth, s.Work) }).ToArray();

        var scaled = CostModelFit.MatchTotalTime(Truth, samples);

        Assert.Equal(samples.Sum(s => s.Ms), samples.Sum(s => Price(scaled, s.Work)), 6);
        Assert.Equal(1.2 * Truth.FixedMs, scaled.FixedMs, 9);
        Assert.Equal(1.2 * Truth.LinearMs[^1][1], scaled.LinearMs[^1][1], 9);
        Assert.Equal(Truth.LinearMs[^1][0], scaled.LinearMs[^1][0]);
        Assert.True(FitError.Of(scaled, samples).MaxAbsPct < 1e-6);
    }

    [Fact]
    public void TimingSummary_RejectsAStallAndKeepsTheRest()
    {
        var summary = TimingSummary.Of([10.1, 9.9, 10.0, 10.2, 9.8, 31.0, 10.0]);

        Assert.Equal(1, summary.Rejected);
        Assert.Equal(6, summary.Kept);
        Assert.Equal(10.0, summary.MedianMs, 1e-9);
        Assert.True(summary.SpreadPct < 5);
    }

    [Fact]
    public void TimingSummary_IdenticalTimings_KeepsAll()
    {
        var summary = TimingSummary.Of([4.0, 4.0, 4.0]);

        Assert.Equal(0, summary.Rejected);
        Assert.Equal(4.0, summary.MedianMs);
        Assert.Throws<ArgumentException>(() => TimingSummary.Of([]));
        Assert.Throws<ArgumentException>(() => TimingSummary.Of([1, double.NaN]));
    }

    [Fact]
    public void CostModel_OutputMs_ChargedPerSampledToken()
    {
        var withOutputs = new CostModel(Truth);
        var without = new CostModel(Truth with { OutputMs = 0 });
        WorkShape[] work = [WorkShape.Decode(10), WorkShape.Decode(10), WorkShape.Prefill(50, 0, false), WorkShape.Prefill(50, 0, true)];

        var difference = (withOutputs.ShapeTimeS(work, 0) - without.ShapeTimeS(work, 0)) * 1000;

        Assert.Equal(3 * Truth.OutputMs, difference, 1e-9);
    }

    private static double Price(CostProfile profile, IReadOnlyList<WorkShape> work) => new CostModel(profile).ShapeTimeS([.. work], 0) * 1000;

    private static long DecodeContext(IReadOnlyList<WorkShape> work) => work.Where(w => w.IsDecode).Sum(w => (long)w.ContextBefore + 1);

    // The calibration grid's shape: decodes over batch and context, single prefill chunks over chunk and cache.
    private static IEnumerable<StepSample> Grid()
    {
        foreach (var k in new[] { 32, 256, 1024 })
        {
            foreach (var b in new[] { 1, 2, 4, 8 })
            {
                yield return new StepSample($"decode B={b} K={k}", [.. Enumerable.Repeat(WorkShape.Decode(k), b)], 0);
            }
        }

        foreach (var c in new[] { 8, 16, 32, 64, 128, 256 })
        {
            foreach (var k in new[] { 0, 512 })
            {
                yield return new StepSample($"prefill c={c} k={k}", [WorkShape.Prefill(c, k, true)], 0);
            }
        }
    }
}
