"""The REST API under /api/v1/. Thin, like the desk's pages: fetch the ticket through
visible_to (any other is a 404), check the input's shape, call one action of
incidents.actions and answer. Refusals become errors in api.errors."""

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from incidents import actions, rules
from incidents.models import Application, Service, Ticket
from incidents.ticket_page import read_ticket_page

from .filters import ApiTicketFilter
from .pagination import TicketCursor
from .parsers import JSONParser
from .schema import problems
from .serializers import (
    ApplicationSerializer,
    AssignSerializer,
    CommentSerializer,
    DecisionSerializer,
    InterventionSerializer,
    RerouteSerializer,
    ServiceSerializer,
    StatusCommentSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketSummarySerializer,
    TimelineEntrySerializer,
)


def with_page(ticket: Ticket, user) -> Ticket:
    """The ticket with what its page shows `user` (incidents.ticket_page), for the serializer."""
    ticket.page = read_ticket_page(ticket, user)
    return ticket


@extend_schema_view(
    list=extend_schema(
        summary="List the tickets you can see, newest first",
        responses={200: TicketSummarySerializer(many=True), **problems(400)},
    ),
    retrieve=extend_schema(
        summary="Read a ticket with its timeline, as its page shows it to you",
        responses={200: TicketSerializer, **problems(404)},
    ),
    create=extend_schema(
        summary="Open a ticket",
        request={"application/json": TicketCreateSerializer, "multipart/form-data": TicketCreateSerializer},
        responses={201: TicketSerializer, **problems(400, 403)},
    ),
)
class TicketViewSet(viewsets.GenericViewSet):
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"
    serializer_class = TicketSerializer
    pagination_class = TicketCursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiTicketFilter
    parser_classes = [JSONParser, MultiPartParser]  # multipart for files; actions without files take JSON

    def get_queryset(self):
        return Ticket.objects.visible_to(self.request.user)

    def _ticket(self, **lookup) -> Ticket:
        """The ticket of the URL if this user may see it; any other is a 404, like a missing one."""
        return get_object_or_404(
            self.get_queryset().with_page_columns(), **(lookup or {"number": self.kwargs["number"]})
        )

    def _valid(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _act(self, serializer_class, perform) -> Response:
        """Shared shape of the ticket actions: the ticket, its input, one action, its entry."""
        ticket = self._ticket()
        data = self._valid(serializer_class) if serializer_class else {}
        entry = perform(ticket, data)
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    def list(self, request):
        tickets = self.filter_queryset(self.get_queryset().with_list_columns())
        page = self.paginate_queryset(tickets)
        rows = TicketSummarySerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(rows.data)

    def retrieve(self, request, number):
        return Response(self.get_serializer(with_page(self._ticket(), request.user)).data)

    def create(self, request):
        data = self._valid(TicketCreateSerializer)
        ticket = actions.open_ticket(
            by=request.user,
            reporter=data["reporter"],
            application=data["application"],
            service=data["service"],
            title=data["title"],
            description=data["description"],
            gravity=data["gravity"],
            criticality=data["criticality"],
            channel=data["channel"],
            files=data["attachments"],
        )
        url = reverse("api:ticket-detail", kwargs={"number": ticket.number}, request=request)
        body = self.get_serializer(with_page(self._ticket(pk=ticket.pk), request.user)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": url})

    @extend_schema(
        summary="Comment, publicly or as an internal note (staff)",
        request={"application/json": CommentSerializer, "multipart/form-data": CommentSerializer},
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="comments")
    def comment(self, request, number):
        return self._act(
            CommentSerializer,
            lambda t, d: actions.add_comment(
                t, by=request.user, body=d["body"], internal=d["internal"], files=d["attachments"]
            ),
        )

    @extend_schema(
        summary="Log an intervention (technicians of the ticket's service)",
        request=InterventionSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="interventions", parser_classes=[JSONParser])
    def intervention(self, request, number):
        return self._act(
            InterventionSerializer,
            lambda t, d: actions.log_intervention(
                t, by=request.user, performed_at=d["performed_at"], minutes=d["minutes"], body=d["body"]
            ),
        )

    @extend_schema(
        summary="Re-route to another service (technicians of the ticket's service)",
        request=RerouteSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reroute(self, request, number):
        return self._act(
            RerouteSerializer,
            lambda t, d: actions.reroute_ticket(t, by=request.user, to=d["service"], justification=d["justification"]),
        )

    @extend_schema(
        summary="Close an open ticket (technicians of the ticket's service)",
        request=StatusCommentSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def close(self, request, number):
        return self._act(
            StatusCommentSerializer, lambda t, d: actions.close_ticket(t, by=request.user, comment=d["comment"])
        )

    @extend_schema(
        summary="Reopen a closed ticket (technicians of the ticket's service)",
        request=StatusCommentSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reopen(self, request, number):
        return self._act(
            StatusCommentSerializer, lambda t, d: actions.reopen_ticket(t, by=request.user, comment=d["comment"])
        )

    @extend_schema(
        summary="Accept or decline an evolution request (managers)",
        request=DecisionSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def decide(self, request, number):
        return self._act(
            DecisionSerializer,
            lambda t, d: actions.decide_evolution_request(
                t, by=request.user, accept=d["decision"] == "accept", comment=d["comment"]
            ),
        )

    @extend_schema(
        summary="Assign an open ticket to a member of its service (technicians of the service)",
        request=AssignSerializer,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def assign(self, request, number):
        return self._act(AssignSerializer, lambda t, d: actions.assign_ticket(t, by=request.user, to=d["assignee"]))

    @extend_schema(
        summary="Take an open ticket of your service: assign it to yourself",
        request=None,
        responses={201: TimelineEntrySerializer, **problems(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def take(self, request, number):
        return self._act(None, lambda t, d: actions.take_ticket(t, by=request.user))


@extend_schema(summary="Active services: where tickets are routed and re-routed")
class ServiceList(generics.ListAPIView):
    serializer_class = ServiceSerializer
    pagination_class = None

    def get_queryset(self):
        return Service.objects.filter(is_active=True).order_by("name")


@extend_schema(summary="Applications you may open a ticket about")
class ApplicationList(generics.ListAPIView):
    serializer_class = ApplicationSerializer
    pagination_class = None

    def get_queryset(self):
        applications = Application.objects.filter(is_active=True).select_related("default_service")
        if not rules.can_open_ticket(self.request.user):  # the portal's choice: those with a service
            applications = applications.filter(default_service__is_active=True)
        return applications.order_by("name")


class ApiDocs(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's static files (no CDN), its script apart
    from the page so the Content-Security-Policy holds."""

    url_name = "api:schema"
    template_name = "api/swagger_ui.html"
