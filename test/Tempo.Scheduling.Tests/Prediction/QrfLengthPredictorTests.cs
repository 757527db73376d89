using CsCheck;

using Tempo.Core;
using Tempo.Scheduling.Prediction;

using Xunit.Abstractions;

namespace Tempo.Scheduling.Tests.Prediction;

public sealed class QrfLengthPredictorTests(TrainedForestFixture trained, ITestOutputHelper output) : IClassFixture<TrainedForestFixture>
{
    [Fact]
    public void Predict_HeldOutTextWithLengthCues_CoverageNearQuantile()
    {
        var result = PredictorEvaluation.Evaluate(trained.Predictor, trained.HeldOut);
        output.WriteLine(result.ToString());

        Assert.Equal(0.95, result.Quantile);
        Assert.InRange(result.AtAdmission.Coverage, 0.91, 0.99);
    }

    [Fact]
    public void Predict_TextCues_TighterThanNumericFeaturesAlone()
    {
        var numericOnly = QrfLengthPredictor.Train(Strip(trained.Training), TrainedForestFixture.SmallForest);
        var withText = PredictorEvaluation.Evaluate(trained.Predictor, trained.HeldOut);
        var withoutText = PredictorEvaluation.Evaluate(numericOnly, Strip(trained.HeldOut));
        output.WriteLine($"text: {withText.AtAdmission}");
        output.WriteLine($"numeric only: {withoutText.AtAdmission}");

        // Cue words move the median length by 35×; a model that reads them needs far less slack.
        Assert.True(withText.AtAdmission.MeanOverEstimateCovered < 0.6 * withoutText.AtAdmission.MeanOverEstimateCovered);
    }

    [Fact]
    public void Predict_NoPromptText_StillCoversFromNumericFeatures()
    {
        var training = Strip(trained.Training);
        var heldOut = Strip(trained.HeldOut);
        var predictor = QrfLengthPredictor.Train(training, TrainedForestFixture.SmallForest);
        var result = PredictorEvaluation.Evaluate(predictor, heldOut);
        output.WriteLine(result.ToString());

        // Without the cue words the length given prompt length is a four-way mixture (medians 20 to 700); leaves of
        // ~10 rows estimate its 95th percentile a little low, so coverage sits near 0.91 rather than 0.95.
        Assert.InRange(result.AtAdmission.Coverage, 0.87, 1.0);

        // Length grows with prompt length in the generator, so the bound must too.
        var shortPrompt = predictor.Predict(heldOut[0] with { PromptTokens = 8 }).BoundAfter(0);
        var longPrompt = predictor.Predict(heldOut[0] with { PromptTokens = 120 }).BoundAfter(0);
        Assert.True(longPrompt > shortPrompt, $"bound for 120 prompt tokens ({longPrompt}) should exceed that for 8 ({shortPrompt})");
    }

    [Fact]
    public void Predict_CueWord_ShortAndLongBoundsOrdered()
    {
        var template = trained.HeldOut[0] with { PromptTokens = 40 };
        var brief = trained.Predictor.Predict(template with { PromptText = "please answer briefly about the river" }).BoundAfter(0);
        var essay = trained.Predictor.Predict(template with { PromptText = "please write an essay about the river" }).BoundAfter(0);

        Assert.True(essay > 4 * brief, $"essay bound {essay} vs briefly bound {brief}");
    }

    [Fact]
    public void Evaluate_Refinement_KeepsCoverageWhereTheAdmissionBoundLosesIt()
    {
        var result = PredictorEvaluation.Evaluate(trained.Predictor, trained.HeldOut);

        // At checkpoints, long requests dominate; those are the ones a fixed admission bound under-covers, while the
        // conditional quantile re-targets q given the length already reached.
        Assert.Equal(result.WithoutRefinement.Samples, result.WithRefinement.Samples);
        Assert.True(result.WithRefinement.Coverage > result.WithoutRefinement.Coverage);
        Assert.InRange(result.WithRefinement.Coverage, 0.91, 0.99);
    }

    [Fact]
    public void BoundAfter_RandomCheckpoints_AboveGeneratedAndNonDecreasing()
    {
        var predictors = new ILengthPredictor[] { trained.Predictor, trained.Predictor.WithMaxBound(300), new FixedLengthPredictor(), new OracleLengthPredictor() };
        var requests = trained.HeldOut;
        Gen.Select(Gen.Int[0, requests.Count - 1], Gen.Int[0, predictors.Length - 1], Gen.Int[0, 20_000].Array[1, 40])
            .Sample((r, p, checkpoints) =>
            {
                var posterior = predictors[p].Predict(requests[r]);
                Array.Sort(checkpoints);
                var previous = 0;
                foreach (var g in checkpoints)
                {
                    var bound = posterior.BoundAfter(g);
                    if (bound <= g || bound < previous)
                    {
                        return false;
                    }

                    previous = bound;
                }

                return true;
            }, iter: 500);
    }

    [Fact]
    public void SaveLoad_RoundTrip_IdenticalPredictionsAndBytes()
    {
        var path = Path.GetTempFileName();
        var again = Path.GetTempFileName();
        try
        {
            trained.Predictor.Save(path);
            var loaded = QrfLengthPredictor.Load(path);
            loaded.Save(again);

            Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
            Assert.Equal(trained.Predictor.Options, loaded.Options);
            foreach (var spec in trained.HeldOut.Take(200))
            {
                var (a, b) = (trained.Predictor.Predict(spec), loaded.Predict(spec));
                foreach (var g in new[] { 0, 10, 50, 200, 1000, 5000 })
                {
                    Assert.Equal(a.BoundAfter(g), b.BoundAfter(g));
                }
            }
        }
        finally
        {
            File.Delete(path);
            File.Delete(again);
        }
    }

    [Fact]
    public void Train_SameSeed_IdenticalModelBytes()
    {
        var data = trained.Training.Take(500).ToList();
        var options = new QrfOptions { Trees = 10, Seed = 3 };

        var first = Bytes(QrfLengthPredictor.Train(data, options));
        var second = Bytes(QrfLengthPredictor.Train(data, options));
        var otherSeed = Bytes(QrfLengthPredictor.Train(data, options with { Seed = 4 }));

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void Load_FlippedByte_ThrowsInvalidDataNamingCorruption()
    {
        var bytes = Bytes(trained.Predictor);
        bytes[bytes.Length / 2] ^= 0x5A;

        var e = Assert.Throws<InvalidDataException>(() => QrfLengthPredictor.Load(new MemoryStream(bytes)));
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedFile_ThrowsInvalidData()
    {
        var bytes = Bytes(trained.Predictor);

        Assert.Throws<InvalidDataException>(() => QrfLengthPredictor.Load(new MemoryStream(bytes[..(bytes.Length - 100)])));
        Assert.Throws<InvalidDataException>(() => QrfLengthPredictor.Load(new MemoryStream(bytes[..10])));
    }

    [Fact]
    public void Load_ForeignFile_ThrowsInvalidDataNamingPath()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{\"prompt\": \"not a model\"}");

            var e = Assert.Throws<InvalidDataException>(() => QrfLengthPredictor.Load(path));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Contains("not a Tempo QRF", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_NewerFormatVersion_ThrowsInvalidDataNamingVersion()
    {
        var bytes = Bytes(trained.Predictor);
        bytes[8] = 99;

        var e = Assert.Throws<InvalidDataException>(() => QrfLengthPredictor.Load(new MemoryStream(bytes)));
        Assert.Contains("version 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithQuantile_HigherQuantile_BoundsNoLower()
    {
        var q99 = trained.Predictor.WithQuantile(0.99);
        var q50 = trained.Predictor.WithQuantile(0.5);
        foreach (var spec in trained.HeldOut.Take(100))
        {
            var mid = q50.Predict(spec).BoundAfter(0);
            var high = trained.Predictor.Predict(spec).BoundAfter(0);
            Assert.True(mid <= high && high <= q99.Predict(spec).BoundAfter(0));
        }
    }

    [Fact]
    public void Train_NoRequests_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => QrfLengthPredictor.Train([]));
    }

    private static List<RequestSpec> Strip(IEnumerable<RequestSpec> specs) => [.. specs.Select(s => s with { PromptText = null })];

    private static byte[] Bytes(QrfLengthPredictor predictor)
    {
        using var stream = new MemoryStream();
        predictor.Save(stream);
        return stream.ToArray();
    }
}
