using Tempo.Reports;

namespace Tempo.Simulation.Tests;

public class CsvTextTests
{
    [Theory]
    [InlineData("mixed")]
    [InlineData("my,workload.jsonl")]
    [InlineData("say \"hi\"")]
    [InlineData("two\nlines")]
    [InlineData("")]
    public void Field_ReadBackBySplit_IsTheSameText(string text)
    {
        var line = string.Join(',', CsvText.Field(text), "next") + "\n";

        var fields = Assert.Single(CsvText.Split(line));

        Assert.Equal([text, "next"], fields);
    }

    [Fact]
    public void Field_PlainText_IsNotQuoted() => Assert.Equal("tempo", CsvText.Field("tempo"));
}
