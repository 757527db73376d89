using Tempo.Core;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Prediction;

public sealed class LengthFeaturesTests
{
    private static readonly LengthFeatures Features = new(textHashBits: 10, bigrams: true, appBuckets: 8);

    private static RequestSpec Spec(string? text, string? app = null) => Specs.Make(1, prompt: 99, output: 10, app: app, text: text);

    private static (List<int> Indices, List<float> Values) Extract(RequestSpec spec)
    {
        var (indices, values) = (new List<int>(), new List<float>());
        Features.Extract(spec, indices, values);
        return (indices, values);
    }

    [Fact]
    public void Extract_NullText_OnlyPromptLengthAndClass()
    {
        var (indices, values) = Extract(Spec(null));

        Assert.Equal([0, 1 + (int)RequestClass.Throughput], indices);
        Assert.Equal(Math.Log(100), values[0], 5);
    }

    [Fact]
    public void Extract_Text_IndicesAscendingValuesPositive()
    {
        var (indices, values) = Extract(Spec("Write an essay, an essay about rivers! And then: more.", app: "tot"));

        Assert.True(indices.Zip(indices.Skip(1)).All(p => p.First < p.Second));
        Assert.All(values, v => Assert.True(v > 0));
        Assert.All(indices, i => Assert.InRange(i, 0, Features.Dimension - 1));
        Assert.Contains(indices, i => i >= Features.TextBase);
    }

    [Fact]
    public void Extract_DifferentCaseAndPunctuation_SameFeatures()
    {
        Assert.Equal(Extract(Spec("Explain BRIEFLY: the river")), Extract(Spec("explain briefly the   river")), new PairComparer());
    }

    [Fact]
    public void Extract_RepeatedWord_LogTermFrequency()
    {
        var once = Extract(Spec("essay"));
        var thrice = Extract(Spec("essay essay essay"));

        // Unigram "essay": 1 + ln 1 = 1 once, 1 + ln 3 thrice (the bigram "essay essay" adds one more bucket).
        Assert.Equal(1f, once.Values[^1]);
        Assert.Contains(thrice.Values, v => Math.Abs(v - (1 + Math.Log(3))) < 1e-5);
    }

    [Fact]
    public void Extract_App_AddsOneHotBucket()
    {
        var without = Extract(Spec(null));
        var with = Extract(Spec(null, app: "deep-research"));

        Assert.Equal(without.Indices.Count + 1, with.Indices.Count);
    }

    private sealed class PairComparer : IEqualityComparer<(List<int> Indices, List<float> Values)>
    {
        public bool Equals((List<int> Indices, List<float> Values) x, (List<int> Indices, List<float> Values) y) =>
            x.Indices.SequenceEqual(y.Indices) && x.Values.SequenceEqual(y.Values);

        public int GetHashCode((List<int> Indices, List<float> Values) obj) => obj.Indices.Count;
    }
}
