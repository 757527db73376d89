using Tempo.Core;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Prediction;

public sealed class LengthPredictorsTests
{
    private static readonly RequestSpec Request = new()
    {
        Id = 1,
        ArrivalS = 0,
        Class = RequestClass.Latency,
        Slo = new Slo(1, 0.1, 10),
        PromptTokens = 20,
        OutputTokens = 300,
    };

    [Theory]
    [InlineData("oracle")]
    [InlineData("fixed")]
    [InlineData("FIXED")]
    public void Create_KnownName_ReturnsNamedPredictor(string name)
    {
        Assert.Equal(name.ToLowerInvariant(), LengthPredictors.Create(name).Name);
    }

    [Fact]
    public void Create_Unknown_ThrowsListingNames()
    {
        var e = Assert.Throws<ArgumentException>(() => LengthPredictors.Create("magic"));

        Assert.Contains("oracle, fixed, qrf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_QrfWithoutModel_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => LengthPredictors.Create("qrf"));
    }

    [Fact]
    public void Create_QrfFromTrainingOrFile_SamePredictions()
    {
        var data = SyntheticLengths.Generate(300, seed: 5);
        var options = new QrfOptions { Trees = 5, Seed = 2 };
        var trained = LengthPredictors.Create("qrf", training: data, qrfOptions: options);
        var path = Path.GetTempFileName();
        try
        {
            ((QrfLengthPredictor)trained).Save(path);
            var loaded = LengthPredictors.Create("qrf", modelPath: path);

            Assert.Equal("qrf", loaded.Name);
            Assert.All(data.Take(50), s => Assert.Equal(trained.Predict(s).BoundAfter(0), loaded.Predict(s).BoundAfter(0)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Create_FixedWithLength_PredictsThatLength()
    {
        Assert.Equal(512, LengthPredictors.Create("fixed", fixedLength: 512).Predict(Request).BoundAfter(0));
    }

    [Fact]
    public void Evaluate_Oracle_FullCoverageNoOverEstimate()
    {
        var result = PredictorEvaluation.Evaluate(new OracleLengthPredictor(), [Request, Request with { Id = 2, OutputTokens = 5 }]);

        Assert.Equal(2, result.Requests);
        Assert.Null(result.Quantile);
        Assert.Equal(1.0, result.AtAdmission.Coverage);
        Assert.Equal(0.0, result.AtAdmission.MeanOverEstimate);
        Assert.Equal(1.0, result.WithRefinement.Coverage);

        // Checkpoints 0, 32, …, 288 for 300 tokens and 0 for 5 tokens.
        Assert.Equal(11, result.WithRefinement.Samples);
    }

    [Fact]
    public void Evaluate_Fixed_CountsShortfallOfLongRequests()
    {
        var result = PredictorEvaluation.Evaluate(new FixedLengthPredictor(100), [Request, Request with { Id = 2, OutputTokens = 40 }]);

        Assert.Equal(0.5, result.AtAdmission.Coverage);
        Assert.Equal(60, result.AtAdmission.MeanOverEstimateCovered);
        Assert.Equal(200, result.AtAdmission.MeanShortfall);
        Assert.Equal(-70, result.AtAdmission.MeanOverEstimate);

        // Refinement lifts the fixed bound past 100 once it is outlived (checkpoints 128, 160, …).
        Assert.True(result.WithRefinement.Coverage > result.WithoutRefinement.Coverage);
    }
}
