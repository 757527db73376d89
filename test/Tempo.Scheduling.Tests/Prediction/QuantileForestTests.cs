using Tempo.Core;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Prediction;

public sealed class QuantileForestTests
{
    private static RequestSpec Spec(int id, int prompt, int output) => Specs.Make(id, prompt, output, RequestClass.Latency);

    [Fact]
    public void Train_ConstantClassFeature_StillSplitsOnPromptLength()
    {
        // Every sample has the same class one-hot, which cannot split; with few candidates the random subset is often
        // just that feature, and the node must go on to try prompt length instead of becoming a leaf.
        var rng = new Random(3);
        var specs = Enumerable.Range(0, 1000).Select(i =>
        {
            var prompt = rng.Next(1, 400);
            return Spec(i, prompt, (prompt < 200 ? 10 : 1000) + rng.Next(5));
        }).ToList();

        var predictor = QrfLengthPredictor.Train(specs, new QrfOptions { Trees = 20, Seed = 1 });

        Assert.All(predictor.Forest.Trees, t => Assert.True(t.LeafCount > 10, $"tree with {t.LeafCount} leaves"));
        Assert.InRange(predictor.Predict(Spec(0, 50, 1)).BoundAfter(0), 10, 14);
        Assert.InRange(predictor.Predict(Spec(0, 350, 1)).BoundAfter(0), 1000, 1004);
    }

    [Fact]
    public void Train_IndistinguishableRequests_LeafKeepsEvenlySpacedOrderStatistics()
    {
        // Identical features, targets 1..2000: no split exists, so each tree is one leaf of 2000 bootstrap draws.
        var specs = Enumerable.Range(1, 2000).Select(i => Spec(i, 100, i)).ToList();

        var predictor = QrfLengthPredictor.Train(specs, new QrfOptions { Trees = 20, Seed = 1, MaxLeafSamples = 64 });

        Assert.All(predictor.Forest.Trees, t => Assert.Equal(64, t.LeafSize(0)));
        Assert.InRange(predictor.Predict(specs[0]).BoundAfter(0), 1850, 1950);
        Assert.InRange(predictor.WithQuantile(0.5).Predict(specs[0]).BoundAfter(0), 900, 1100);
    }

    [Fact]
    public void Train_SameTargets_SingleLeafWithoutSplitting()
    {
        var specs = Enumerable.Range(1, 100).Select(i => Spec(i, i, 42)).ToList();

        var predictor = QrfLengthPredictor.Train(specs, new QrfOptions { Trees = 3, Seed = 1 });

        Assert.All(predictor.Forest.Trees, t => Assert.Empty(t.Nodes));
        Assert.Equal(42, predictor.Predict(specs[0]).BoundAfter(0));
        Assert.Equal(53, predictor.Predict(specs[0]).BoundAfter(42));
    }

    [Fact]
    public void Train_BootstrapLeaves_EveryLeafAtLeastMinSamples()
    {
        var specs = SyntheticLengths.Generate(600, seed: 9);

        var predictor = QrfLengthPredictor.Train(specs, new QrfOptions { Trees = 5, Seed = 1, MinSamplesLeaf = 12, LeafTargetsFromAllRows = false });

        Assert.All(predictor.Forest.Trees, t => Assert.All(Enumerable.Range(0, t.LeafCount), l => Assert.True(t.LeafSize(l) >= 12)));
    }

    [Fact]
    public void Train_AllRowLeaves_EveryTrainingRowInExactlyOneLeafPerTree()
    {
        var specs = SyntheticLengths.Generate(600, seed: 9);

        var predictor = QrfLengthPredictor.Train(specs, new QrfOptions { Trees = 5, Seed = 1, MaxLeafSamples = 1000 });

        var targets = specs.Select(s => s.OutputTokens).Order().ToArray();
        Assert.All(predictor.Forest.Trees, t =>
        {
            Assert.All(Enumerable.Range(0, t.LeafCount), l => Assert.True(t.LeafSize(l) >= 1));
            Assert.Equal(targets, t.LeafTargets.Order().ToArray());
        });
    }
}
