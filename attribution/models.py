"""Assignments placed in the LMS. The submission issue extends them with the teacher's settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from plugin.kernel.clock import UTCDateTime


class Assignment(SQLModel, table=True):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(sa_column=Column(String(300), nullable=False))
    score_maximum: float = Field(sa_column=Column(Numeric(8, 2, asdecimal=False), nullable=False))
    # Filled at the first launch of the placed link: the LMS's resource link and gradebook column.
    resource_link_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    line_item_url: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
