"""The investigation graph. This module only wires nodes together.

    scope -> network | infrastructure | application (in parallel) -> hypothesize -> report -> review

`review` interrupts the run for the engineer; a rerun resumes it and it loops back to `scope`.
Without a checkpointer (a one-shot run) the graph ends at `report`.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.nodes.domains import application, infrastructure, network
from agent.nodes.hypothesize import hypothesize
from agent.nodes.report import report
from agent.nodes.review import review
from agent.nodes.scope import scope
from agent.state import Context, InvestigationInput, InvestigationState

DOMAIN_NODES = {"network": network, "infrastructure": infrastructure, "application": application}


def build_graph(checkpointer=None):
    """The compiled graph; with a checkpointer it stops for review after every report."""
    graph = StateGraph(InvestigationState, input_schema=InvestigationInput, context_schema=Context)
    graph.add_node("scope", scope)
    for name, node in DOMAIN_NODES.items():
        graph.add_node(name, node)
    graph.add_node("hypothesize", hypothesize)
    graph.add_node("report", report)
    graph.add_edge(START, "scope")
    for name in DOMAIN_NODES:
        graph.add_edge("scope", name)
    graph.add_edge(list(DOMAIN_NODES), "hypothesize")
    graph.add_edge("hypothesize", "report")
    if checkpointer is None:
        graph.add_edge("report", END)
    else:
        graph.add_node("review", review, destinations=("scope",))
        graph.add_edge("report", "review")
    return graph.compile(checkpointer=checkpointer)
