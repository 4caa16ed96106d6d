"""Request and response bodies of the /auth API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserRegister(_Strict):
    username: str = Field(min_length=2, max_length=64, examples=["ada"])
    email: str = Field(min_length=3, max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=256)


class UserPublic(BaseModel):
    id: str
    username: str
    email: str


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=254, description="Username or email.")
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(_Strict):
    refresh_token: str = Field(min_length=1, max_length=8192)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"


class Me(BaseModel):
    id: str
    username: str
    email: str | None
    roles: list[str]
