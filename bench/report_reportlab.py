"""The PDF report built with ReportLab, the seed's library, for bench/report_bench.sh: the
same pages as lib/report/pdf.c draws (title page, summary, insights and action plan, metrics
table, importance bars, ROC and PR curves, gains and lift, calibration, correlation heat map,
model card table) in the same Korean TrueType font, from the AI report JSON that
`aiops report` printed and curves of the same sizes (101 points).

  report_reportlab.py REPORT.json OUT.pdf FONT.ttf RUNS   prints the seconds per PDF"""
import json
import math
import sys
import time

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table


def line_chart(series, title):
    d = Drawing(240, 220)
    lp = LinePlot()
    lp.x, lp.y, lp.width, lp.height = 30, 30, 190, 170
    lp.data = series
    d.add(lp)
    d.add(String(30, 205, title, fontName="K", fontSize=10))
    return d


def build(report, out, runs):
    st = ParagraphStyle("k", fontName="K", fontSize=10.5, leading=15)
    h = ParagraphStyle("h", fontName="K", fontSize=14, leading=20, textColor=colors.HexColor("#2563eb"))
    xs = [i / 100 for i in range(101)]
    roc = [(x, 1 - (1 - x) ** 3) for x in xs]
    pr = [(x, 1 - 0.5 * x * x) for x in xs]
    gains = [(10 * i, 100 * (1 - (1 - i / 10) ** 2)) for i in range(11)]
    cal = [(i / 10 + 0.05, i / 10 + 0.04) for i in range(10)]
    feats = report["topFeatures"] * 3
    t0 = time.perf_counter()
    for _ in range(runs):
        story = [Spacer(1, 120), Paragraph("AI 분석 보고서", h), Paragraph("모델 성능과 실행 계획", st),
                 PageBreak(), Paragraph("요약", h), Paragraph(report["summary"], st)]
        story += [Paragraph("핵심 인사이트", h)] + [Paragraph(s, st) for s in report["aiInsights"]]
        story += [Paragraph("실행 계획", h)] + [Paragraph(s, st) for s in report["actionPlan"]]
        rows = [["지표", "값"]] + [[f["name"], f["text"]] for f in report["facts"][:16]]
        story += [PageBreak(), Paragraph("성능 지표", h), Table(rows, style=[("FONT", (0, 0), (-1, -1), "K")])]
        d = Drawing(500, 300)
        bc = HorizontalBarChart()
        bc.x, bc.y, bc.width, bc.height = 150, 10, 320, 280
        bc.data = [[f["importance"] or 0 for f in feats]]
        bc.categoryAxis.categoryNames = [f["feature"] + " " + (f.get("description") or "") for f in feats]
        bc.categoryAxis.labels.fontName = "K"
        d.add(bc)
        story += [PageBreak(), Paragraph("변수 중요도", h), d,
                  line_chart([roc, [(0, 0), (1, 1)]], "ROC 곡선"), line_chart([pr], "정밀도-재현율 곡선")]
        lift = Drawing(240, 220)
        vb = VerticalBarChart()
        vb.x, vb.y, vb.width, vb.height = 30, 30, 190, 170
        vb.data = [[3.9, 2.6, 1.7, 0.9, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]]
        lift.add(vb)
        story += [PageBreak(), line_chart([gains, [(0, 0), (100, 100)]], "누적 이득"), lift,
                  line_chart([cal, [(0, 0), (1, 1)]], "확률 보정")]
        heat = Drawing(400, 400)
        k = 12
        for i in range(k):
            for j in range(k):
                v = math.cos(i - j)
                heat.add(Rect(100 + 25 * j, 380 - 25 * (i + 1), 25, 25,
                              fillColor=colors.Color(1, 1 - abs(v), 1 - abs(v))))
        story += [PageBreak(), Paragraph("상관관계", h), heat, PageBreak(), Paragraph("모델 카드", h),
                  Table([["그룹", "행", "accuracy"], ["a", "900", "0.98"], ["b", "300", "0.55"]],
                        style=[("FONT", (0, 0), (-1, -1), "K")])]

        def number(canvas, doc):
            canvas.setFont("K", 8)
            canvas.drawCentredString(A4[0] / 2, 28, "%d" % doc.page)

        SimpleDocTemplate(out, pagesize=A4).build(story, onFirstPage=number, onLaterPages=number)
    return (time.perf_counter() - t0) / runs


if __name__ == "__main__":
    pdfmetrics.registerFont(TTFont("K", sys.argv[3]))
    with open(sys.argv[1]) as f:
        rep = json.load(f)
    print("%.4f" % build(rep, sys.argv[2], int(sys.argv[4])))
